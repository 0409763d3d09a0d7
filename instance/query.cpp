// The instance's erases and multi-record reads: `erase`, `lazy_erase`,
// `clear`, `match` and `for_each`. A local cache is read and written through
// its partitions' tables from the calling thread; a remote one through
// requests to its partitions (which check every pattern again and refuse
// a reply of more than `max_reply_bytes`, actors/cache.hpp).

#include <supercache/instance.hpp>

#include <iterator>

#include <caf/scoped_actor.hpp>

#include <supercache/supercache.hpp>

#include "actors/messages.hpp"
#include "core/pattern.hpp"
#include "instance/state.hpp"
#include "instance/waiting.hpp"

namespace supercache {

using namespace detail;

namespace {

/// Returns the partitions that can hold matches of `pattern`: the one its
/// partition element picks if it fixes that element, else all.
std::vector<size_t> partitions_for(const record_pattern& pattern,
                                   const cache_view& cache) {
  std::vector<size_t> result;
  auto n = cache.partitions.size();
  if (auto& elem = pattern.partition_element()) {
    result.push_back(partition_index(partition_hash(*elem), n));
    return result;
  }
  for (size_t i = 0; i < n; ++i)
    result.push_back(i);
  return result;
}

/// Calls `f` with the records of each partition that match `pattern`.
template <class F>
caf::error scan(instance_state& st, const cache_view& cache,
                const record& pattern, const record_pattern& compiled, F f) {
  auto parts = partitions_for(compiled, cache);
  if (!cache.remote) {
    for (auto p : parts)
      f(cache.tables[p]->match(compiled));
    return caf::none;
  }
  if (auto err = refuse_on_worker(st, "match of a remote cache"))
    return err;
  for (auto p : parts) {
    auto xs = ask_partition<std::vector<record>>(st, cache, p,
                                                 match_atom::value, pattern);
    if (!xs)
      return std::move(xs.error());
    f(std::move(*xs));
  }
  return caf::none;
}

} // namespace

caf::error instance::lazy_erase(const record& pattern) {
  return offer(*state_, pattern, true);
}

caf::expected<size_t> instance::erase(const record& pattern) {
  auto& st = *state_;
  if (auto err = order_before_write(*this, st, "erase"))
    return err;
  auto cache = st.load();
  if (!cache)
    return make_error(errc::not_started);
  if (auto err = validate(pattern, cache->layout))
    return err;
  auto p = partition_of(pattern, cache->layout, cache->partitions.size());
  if (!cache->remote) {
    size_t removed = 0;
    auto done = cache->tables[p]->erase_direct(key_of(pattern, cache->layout),
                                               removed);
    if (done != table::direct_result::followed)
      return removed;
    // Through the partition, which forwards it to its followers.
    auto n = ask_owner<uint64_t>(st, cache->partitions[p], "erase in a "
                                 "partition that has followers",
                                 erase_atom::value, pattern);
    if (!n)
      return std::move(n.error());
    return static_cast<size_t>(*n);
  }
  if (auto err = refuse_on_worker(st, "erase of a remote cache"))
    return err;
  auto n = tell_partition<uint64_t>(st, *cache, p, erase_atom::value,
                                    pattern);
  if (!n)
    return std::move(n.error());
  return static_cast<size_t>(*n);
}

caf::expected<size_t> instance::clear() {
  auto& st = *state_;
  auto cache = st.load();
  if (!cache)
    return make_error(errc::not_started);
  size_t result = 0;
  if (!cache->remote) {
    for (size_t p = 0; p < cache->tables.size(); ++p) {
      size_t removed = 0;
      if (cache->tables[p]->clear_direct(removed)
          != table::direct_result::followed) {
        result += removed;
        continue;
      }
      // Through the partition, which forwards it to its followers.
      auto n = ask_owner<uint64_t>(st, cache->partitions[p], "clear of a "
                                   "partition that has followers",
                                   clear_atom::value);
      if (!n)
        return std::move(n.error());
      result += static_cast<size_t>(*n);
    }
    return result;
  }
  if (auto err = refuse_on_worker(st, "clear of a remote cache"))
    return err;
  for (size_t p = 0; p < cache->partitions.size(); ++p) {
    auto n = tell_partition<uint64_t>(st, *cache, p, clear_atom::value);
    if (!n)
      return std::move(n.error());
    result += static_cast<size_t>(*n);
  }
  return result;
}

caf::expected<std::vector<record>> instance::match(const record& pattern) {
  auto& st = *state_;
  auto cache = st.load();
  if (!cache)
    return make_error(errc::not_started);
  auto compiled = record_pattern::make(pattern, cache->layout);
  if (!compiled)
    return std::move(compiled.error());
  std::vector<record> result;
  auto err = scan(st, *cache, pattern, *compiled,
                  [&](std::vector<record>&& xs) {
                    if (result.empty())
                      result = std::move(xs);
                    else
                      std::move(xs.begin(), xs.end(),
                                std::back_inserter(result));
                  });
  if (err)
    return err;
  return result;
}

caf::error
instance::for_each(const std::function<void(const record&)>& visitor) {
  auto& st = *state_;
  auto cache = st.load();
  if (!cache)
    return make_error(errc::not_started);
  if (!cache->remote) {
    for (auto& tbl : cache->tables)
      tbl->for_each(visitor);
    return caf::none;
  }
  auto all = record::array();
  auto compiled = record_pattern::make(all, cache->layout);
  return scan(st, *cache, all, *compiled, [&](std::vector<record>&& xs) {
    for (auto& x : xs)
      visitor(x);
  });
}

} // namespace supercache
