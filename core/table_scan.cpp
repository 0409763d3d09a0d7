// Scans of a table: `match` and `for_each` (see table.hpp).
//
// A scan copies the bytes of the records it returns into one buffer under
// the shared lock and decodes them after releasing it. Measured with one
// table of 1M `[i, "value-i"]` records and a writer inserting meanwhile, on
// the shared 2-core machine (load 7, so absolute times are inflated): the
// scan under the lock took 443-505 ms, a whole `for_each` 5.3-6.4 s, the
// writer's longest wait 432-560 ms. Decoding costs 10-13 times the copy,
// so writers wait for the copy only; the copy is a consistent snapshot of
// the partition, which chunked copies would not be. Memory: one extra copy
// of the matched records' bytes while a scan runs. A bounded match (the
// reply of a cache node's partition) measures the copy: a reply too large
// is refused before anything is decoded.

#include "core/table.hpp"

#include <algorithm>
#include <mutex>
#include <string>

#include <supercache/errc.hpp>

#include "core/pattern.hpp"

namespace supercache {

table::snapshot table::take_snapshot(const record_pattern* pattern) const {
  snapshot result;
  auto take = [&](const packed& x) {
    auto bytes = x.bytes();
    if (pattern != nullptr && !pattern->matches(bytes))
      return;
    result.bytes.append(bytes.data(), bytes.size());
    result.ends.push_back(result.bytes.size());
  };
  std::shared_lock<rw_lock> guard{mtx_};
  auto now = ttl_ticks_ != 0 ? now_stamp() : 0;
  if (pattern != nullptr && pattern->key()) {
    // The pattern fixes the key: only its probe run can hold matches.
    auto& key = *pattern->key();
    auto h = key_hash(key);
    auto& slots = shard_of(h).slots;
    auto mask = slots.size() - 1;
    for (auto i = h & mask; !slots[i].value.empty(); i = (i + 1) & mask)
      if (slots[i].hash == h && slots[i].value.key() == key
          && live(slots[i], now))
        take(slots[i].value);
    return result;
  }
  if (pattern == nullptr) {
    result.bytes.reserve(size_.load(std::memory_order_relaxed) * 24);
    result.ends.reserve(size_.load(std::memory_order_relaxed));
  }
  // In each shard, start behind an empty slot (there always is one: the
  // load stays below 3/4), so a probe run that wraps around is read in probe
  // order and the records of a key come in their stored order.
  for (auto& sh : shards_) {
    auto& slots = sh.slots;
    auto mask = slots.size() - 1;
    size_t start = 0;
    while (!slots[start].value.empty())
      ++start;
    for (size_t n = 1; n <= slots.size(); ++n) {
      auto& s = slots[(start + n) & mask];
      if (live(s, now))
        take(s.value);
    }
  }
  return result;
}

namespace {

/// Decodes the records of a snapshot's `bytes`, which end at `ends`.
std::vector<record> decode(std::string_view all,
                           const std::vector<size_t>& ends) {
  std::vector<record> result;
  result.reserve(ends.size());
  size_t begin = 0;
  for (auto end : ends) {
    // Stored bytes passed the checks when they were stored.
    auto x = from_msgpack(all.substr(begin, end - begin));
    if (x)
      result.emplace_back(std::move(*x));
    begin = end;
  }
  return result;
}

} // namespace

std::vector<record> table::match(const record_pattern& pattern) const {
  auto snap = take_snapshot(&pattern);
  return decode(snap.bytes, snap.ends);
}

caf::expected<std::vector<record>>
table::match(const record_pattern& pattern, size_t max_bytes,
             const char* what) const {
  auto snap = take_snapshot(&pattern);
  if (snap.bytes.size() > max_bytes) {
    auto at = std::upper_bound(snap.ends.begin(), snap.ends.end(), max_bytes)
              - snap.ends.begin();
    return make_error(errc::too_large,
                      std::string{what} + " of "
                        + std::to_string(snap.ends.size())
                        + " records exceeds max_reply_bytes = "
                        + std::to_string(max_bytes) + " bytes at record "
                        + std::to_string(at + 1)
                        + "; narrow the pattern (fix its partition or key "
                          "element)");
  }
  return decode(snap.bytes, snap.ends);
}

void table::for_each(const std::function<void(const record&)>& f) const {
  auto snap = take_snapshot(nullptr);
  std::string_view all{snap.bytes};
  size_t begin = 0;
  for (auto end : snap.ends) {
    auto x = from_msgpack(all.substr(begin, end - begin));
    if (x)
      f(*x);
    begin = end;
  }
}

} // namespace supercache
