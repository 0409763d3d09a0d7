// The instance's synchronous calls: `put`, `put_batch` and `get`.
//
// On a local cache, `put` and `put_batch` write straight into the
// partitions' tables from the caller's thread under each table's write lock
// (as ETS does), and `get` reads under its read lock: no actor, no message.
// Against a cache node they send requests to the remote partitions.
//
// Order with the same thread's `lazy_put`s: a thread remembers (per thread,
// for the last instance it wrote to) that it handed records to a buffer. A
// direct write first checks that buffer's counters: once nothing is pending
// there, every record the thread handed to it is applied (or counted as
// dropped or lost) and the write is ordered after them; otherwise it first
// waits for `flush` (deadline `call-timeout`).
//
// The local path reads the running cache through a `view_pin` (state.hpp):
// no shared_ptr copy, no lock; only the wait for `flush` and the remote
// calls hold a `cache_ptr`.

#include <supercache/instance.hpp>

#include <string>
#include <tuple>
#include <vector>

#include <caf/scoped_actor.hpp>

#include <supercache/supercache.hpp>

#include "actors/messages.hpp"
#include "core/packed.hpp"
#include "core/routing.hpp"
#include "instance/waiting.hpp"

namespace supercache {

using namespace detail;

namespace {

/// Marks `owner` ids: none yet, or more than one instance.
constexpr uint64_t no_owner = 0;
constexpr uint64_t several_owners = UINT64_MAX;

/// What the calling thread handed to buffers and may not be applied yet.
struct lazy_mark {
  /// The instance it wrote to, `no_owner` or `several_owners`.
  uint64_t owner = no_owner;
  /// Whether records may be pending.
  bool dirty = false;
};

thread_local lazy_mark mark;

/// Returns none once the calling thread's earlier `lazy_put`s into `st`
/// are applied (see the file comment); `call` names the caller in errors.
caf::error order_after_lazy_puts(instance& self, instance_state& st,
                                 const char* call) {
  if (!mark.dirty || (mark.owner != st.id && mark.owner != several_owners))
    return caf::none;
  auto where = routing::place(st.id, st.workers, st.logger);
  {
    gate::pass pass{st.buffer_gate};
    if (pass.admitted()) {
      auto index = where.lane % st.num_buffers;
      if (st.counters->slots[index]->pending() == 0) {
        if (mark.owner == st.id)
          mark.dirty = false;
        return caf::none;
      }
    } else if (!st.buffers_running.load()) {
      // The buffers stopped, and stopping drained every accepted record.
      if (mark.owner == st.id)
        mark.dirty = false;
      return caf::none;
    }
  }
  if (where.own_worker || where.foreign)
    return make_error(errc::would_deadlock,
                      std::string{call}
                        + " inside an actor's handler, while records this "
                          "worker handed to lazy_put are still pending: it "
                          "would wait for them; send flush_atom to the front "
                          "first, or use lazy_put");
  if (auto err = self.flush(); err && st.buffers_running.load())
    return err; // else the buffers stopped meanwhile, drained
  if (mark.owner == st.id)
    mark.dirty = false;
  return caf::none;
}

/// Returns whether the calling thread's `put` into `st` may have to wait
/// for its earlier `lazy_put`s (see `order_after_lazy_puts`).
bool may_wait_for_lazy_puts(const instance_state& st) noexcept {
  return mark.dirty && (mark.owner == st.id || mark.owner == several_owners);
}

/// Stores the packed records `xs` of partition `p` straight into its table;
/// a table closed by a partition restart is replaced by the new one. A
/// table with followers stores nothing: then `via` is set to the partition,
/// for the caller to send the records through it (`ask_owner`).
caf::error write_direct(const view_pin& pin, const cache_view* cache,
                        size_t p, packed* xs, size_t n, caf::actor& via) {
  for (;;) {
    switch (cache->tables[p]->put_direct(xs, n)) {
      case table::direct_result::done:
        return caf::none;
      case table::direct_result::followed:
        via = cache->partitions[p];
        return caf::none;
      case table::direct_result::closed:
        cache = pin.load();
        if (!cache || cache->remote)
          return make_error(errc::not_started, "the cache stopped");
    }
  }
}

/// Returns `err` (of `validate`) with the index of the record it is about.
caf::error at_index(const caf::error& err, size_t index) {
  return make_error(errc::invalid_record,
                    "put_batch: record " + std::to_string(index)
                      + " (0-based): " + render(err)
                      + "; no record of the batch was stored");
}

/// Sends `x` to every copy of partition `p` of a remote cache and waits for
/// `ok_atom`.
template <class T>
caf::error remote_put(instance_state& st, const cache_view& cache, size_t p,
                      const T& x) {
  auto ok = tell_partition<caf::ok_atom>(st, cache, p, caf::put_atom::value,
                                         x);
  return ok ? caf::error{} : std::move(ok.error());
}

} // namespace

namespace detail {

void note_lazy_put(const instance_state& st) noexcept {
  if (mark.dirty && mark.owner != st.id)
    mark.owner = several_owners;
  else
    mark.owner = st.id;
  mark.dirty = true;
}

caf::error order_before_write(instance& self, instance_state& st,
                              const char* call) {
  if (!may_wait_for_lazy_puts(st))
    return caf::none;
  auto cache = st.load();
  if (!cache || cache->remote)
    return caf::none;
  return order_after_lazy_puts(self, st, call);
}

} // namespace detail

caf::error instance::put(record x) {
  auto& st = *state_;
  if (auto err = order_before_write(*this, st, "put"))
    return err;
  caf::actor via; // a partition with followers: the write goes through it
  {
    view_pin pin{st};
    auto cache = pin.load();
    if (!cache)
      return make_error(errc::not_started);
    if (!cache->remote) {
      if (auto err = validate(x, cache->layout))
        return err;
      auto [value, hash] = packed::pack(x, cache->layout);
      auto p = partition_index(hash, cache->partitions.size());
      if (auto err = write_direct(pin, cache, p, &value, 1, via); err || !via)
        return err;
    }
  }
  if (via) {
    auto ok = ask_owner<caf::ok_atom>(st, via, "put into a partition that has "
                                      "followers", caf::put_atom::value, x);
    return ok ? caf::error{} : std::move(ok.error());
  }
  auto cache = st.load();
  if (!cache || !cache->remote)
    return make_error(errc::not_started, "the cache stopped");
  if (auto err = validate(x, cache->layout))
    return err;
  if (auto err = refuse_on_worker(st, "put to a remote cache"))
    return err;
  auto p = partition_of(x, cache->layout, cache->partitions.size());
  return remote_put(st, *cache, p, std::move(x));
}

caf::error instance::put_batch(std::vector<record> xs) {
  auto& st = *state_;
  if (auto err = order_before_write(*this, st, "put_batch"))
    return err;
  // Partitions with followers get their records through their actor: by
  // index, the actor of the view `write_direct` found.
  std::vector<std::tuple<size_t, caf::actor, std::vector<record>>> owners;
  {
    view_pin pin{st};
    auto cache = pin.load();
    if (!cache)
      return make_error(errc::not_started);
    if (!cache->remote) {
      for (size_t i = 0; i < xs.size(); ++i)
        if (auto err = validate(xs[i], cache->layout))
          return at_index(err, i);
      auto n = cache->partitions.size();
      std::vector<std::vector<packed>> parts(n);
      for (auto& part : parts)
        part.reserve(xs.size() / n + xs.size() / 8 + 1);
      for (auto& x : xs) {
        auto [value, hash] = packed::pack(x, cache->layout);
        parts[partition_index(hash, n)].push_back(std::move(value));
      }
      for (size_t p = 0; p < n; ++p) {
        caf::actor via;
        if (!parts[p].empty())
          if (auto err = write_direct(pin, cache, p, parts[p].data(),
                                      parts[p].size(), via))
            return err;
        if (via)
          owners.emplace_back(p, std::move(via), std::vector<record>{});
      }
      if (owners.empty())
        return caf::none;
      for (auto& x : xs) {
        auto p = partition_of(x, cache->layout, n);
        for (auto& [q, owner, ys] : owners)
          if (q == p)
            ys.push_back(std::move(x));
      }
    }
  }
  if (!owners.empty()) {
    for (auto& [p, owner, ys] : owners) {
      auto ok = ask_owner<caf::ok_atom>(st, owner, "put_batch into a "
                                        "partition that has followers",
                                        caf::put_atom::value, ys);
      if (!ok)
        return std::move(ok.error());
    }
    return caf::none;
  }
  auto cache = st.load();
  if (!cache || !cache->remote)
    return make_error(errc::not_started, "the cache stopped");
  for (size_t i = 0; i < xs.size(); ++i)
    if (auto err = validate(xs[i], cache->layout))
      return at_index(err, i);
  if (auto err = refuse_on_worker(st, "put_batch to a remote cache"))
    return err;
  auto n = cache->partitions.size();
  std::vector<std::vector<record>> parts(n);
  for (auto& x : xs)
    parts[partition_of(x, cache->layout, n)].push_back(std::move(x));
  for (size_t p = 0; p < n; ++p)
    if (!parts[p].empty())
      if (auto err = remote_put(st, *cache, p, std::move(parts[p])))
        return err;
  return caf::none;
}

caf::expected<std::vector<record>> instance::get(const record& pattern) {
  std::vector<record> result;
  if (auto err = get(pattern, result))
    return err;
  return result;
}

caf::error instance::get(const record& pattern, std::vector<record>& out) {
  auto& st = *state_;
  {
    view_pin pin{st};
    auto cache = pin.load();
    if (!cache) {
      out.clear();
      return make_error(errc::not_started);
    }
    if (!cache->remote) {
      auto& layout = cache->layout;
      if (auto err = validate(pattern, layout)) {
        out.clear();
        return err;
      }
      // The key's bytes go to a per-thread buffer: no allocation per lookup
      // beyond the result (and none at all into the records of an earlier
      // result of the same shape).
      thread_local std::string key;
      key.clear();
      append_msgpack(pattern[layout.key_pos], key);
      // One hash of the key bytes gives the slot hash (`table::key_hash`)
      // and, when the key is the partition element, the partition.
      auto h = std::hash<std::string_view>{}(key);
      uint32_t p = 0;
      if (layout.partition_pos == layout.key_pos)
        p = partition_index(partition_hash_from(h),
                            cache->partitions.size());
      else
        p = partition_of(pattern, layout, cache->partitions.size());
      cache->tables[p]->get(key, static_cast<uint32_t>(h), out);
      return caf::none;
    }
  }
  out.clear();
  auto cache = st.load();
  if (!cache || !cache->remote)
    return make_error(errc::not_started, "the cache stopped");
  if (auto err = validate(pattern, cache->layout))
    return err;
  if (auto err = refuse_on_worker(st, "get of a remote cache"))
    return err;
  auto p = partition_of(pattern, cache->layout, cache->partitions.size());
  auto xs = ask_partition<std::vector<record>>(st, *cache, p,
                                              caf::get_atom::value, pattern);
  if (!xs)
    return std::move(xs.error());
  out = std::move(*xs);
  return caf::none;
}

} // namespace supercache
