// A table copied to another node's (see table.hpp): a scan that gives each
// record's age, oldest first, and an insert that stores each record as
// written that long ago, so a copy's `ttl` and write order match the
// original's; and the writes of other threads than the owning actor's,
// which a table with followers refuses (the actor forwards what it writes).

#include "core/table.hpp"

#include <algorithm>
#include <exception>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace supercache {

void table::for_each_aged(
  const std::function<void(const record&, caf::timespan age)>& f) const {
  if (!order_) {
    for_each([&](const record& x) { f(x, caf::timespan{0}); });
    return;
  }
  // (age in stamps, bytes) of every live record, copied under the lock.
  std::vector<std::pair<uint32_t, std::string>> xs;
  {
    std::shared_lock<rw_lock> guard{mtx_};
    auto now = now_stamp();
    xs.reserve(size_.load(std::memory_order_relaxed));
    for (auto& sh : shards_)
      for (auto& s : sh.slots)
        if (live(s, now)) {
          auto bytes = s.value.bytes();
          xs.emplace_back(static_cast<uint32_t>(now - s.stamp),
                          std::string{bytes.data(), bytes.size()});
        }
  }
  std::stable_sort(xs.begin(), xs.end(), [](const auto& x, const auto& y) {
    return x.first > y.first;
  });
  for (auto& [age, bytes] : xs)
    if (auto x = from_msgpack(bytes))
      f(*x, std::chrono::duration_cast<caf::timespan>(stamp_unit{age}));
}

size_t table::insert_copied(std::vector<entry>& xs) {
  size_t applied = 0;
  std::unique_lock<rw_lock> guard{mtx_};
  auto now = order_ ? now_stamp() : 0;
  for (auto& x : xs) {
    if (x.barrier != 0 || x.value.empty())
      continue;
    if (x.erase) { // a forwarded erase (lazy or not)
      erase_locked(x.value.key());
      ++applied;
      continue;
    }
    uint32_t stamp = now;
    if (order_) {
      // A peer may send any age: none below 0, and one past `ttl` (or past
      // what a stamp can hold) has expired.
      auto ns = std::max<int64_t>(x.enqueued_ns, 0);
      auto age = std::min<int64_t>(
        std::chrono::duration_cast<stamp_unit>(std::chrono::nanoseconds{ns})
          .count(),
        INT32_MAX);
      if (ttl_ticks_ != 0 && age >= ttl_ticks_) {
        expired_.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      stamp = now - static_cast<uint32_t>(age);
    }
    try {
      auto h = key_hash(x.value.key());
      insert_locked(std::move(x.value), h, stamp);
      ++applied;
    } catch (const std::exception&) {
      // As `insert`: counted in `failed()`, the rest is stored.
      failed_.fetch_add(1, std::memory_order_relaxed);
    }
  }
  return applied;
}

void table::follow() {
  std::unique_lock<rw_lock> guard{mtx_};
  followed_ = true;
}

table::direct_result table::put_direct(packed* xs, size_t n) {
  return write_run(xs, n, true);
}

table::direct_result table::erase_direct(std::string_view key,
                                         size_t& removed) {
  std::unique_lock<rw_lock> guard{mtx_};
  if (followed_)
    return direct_result::followed;
  removed = erase_locked(key);
  return direct_result::done;
}

table::direct_result table::clear_direct(size_t& removed) {
  cleared out; // allocated before the lock
  {
    std::unique_lock<rw_lock> guard{mtx_};
    if (followed_)
      return direct_result::followed;
    clear_locked(out, removed);
  }
  return direct_result::done; // the old records are freed here
}

} // namespace supercache
