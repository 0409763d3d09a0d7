#include "core/table.hpp"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <cstdio>
#include <exception>
#include <functional>
#include <mutex>
#include <type_traits>

namespace supercache {

namespace {

/// Write-order entries a `reclaim` from `size` pops per write lock.
constexpr size_t size_reclaim_chunk = 4096;

caf::actor_clock::time_point now_of(const caf::actor_clock* clock) noexcept {
  return clock != nullptr ? clock->now()
                          : caf::actor_clock::clock_type::now();
}

/// Returns whether the object representation of `x` is all zero bytes.
template <class T>
bool is_zero(const T& x) noexcept {
  const char zeros[sizeof(T)] = {};
  return std::memcmp(&x, zeros, sizeof(T)) == 0;
}

} // namespace

table::table(table_type type, record_layout layout, table_limits limits)
  : type_(type),
    layout_(layout),
    clock_(limits.clock),
    epoch_(now_of(limits.clock)),
    ttl_ticks_(ttl_ticks(limits.ttl)),
    max_records_(limits.max_records) {
  static_assert(sizeof(slot) == 32);
  // The slot allocator writes nothing into a new array (core/huge_pages.hpp),
  // so an empty slot must be all zero bytes (tests/core/packed_test.cpp
  // checks the packed part in every build).
  static_assert(std::is_standard_layout_v<slot>);
  assert(is_zero(slot{}));
  for (auto& sh : shards_)
    publish_home(sh);
  if (limits.any())
    order_ = std::make_unique<write_order>();
  bytes_ = shard_count * initial_capacity * sizeof(slot);
}

uint32_t table::now_stamp() const noexcept {
  auto elapsed = now_of(clock_) - epoch_;
  return static_cast<uint32_t>(
    std::chrono::duration_cast<stamp_unit>(elapsed).count());
}

void table::insert(record x) {
  insert(packed::pack(x, layout_).first);
}

void table::insert(packed x) {
  std::unique_lock<rw_lock> guard{mtx_};
  auto h = key_hash(x.key());
  insert_locked(std::move(x), h, order_ ? now_stamp() : 0);
}

bool table::insert_direct(packed* xs, size_t n) {
  return write_run(xs, n, false) == direct_result::done;
}

table::direct_result table::write_run(packed* xs, size_t n, bool direct) {
  // The home slots of the first records load while the lock is taken; each
  // key is hashed once, `ahead` records before it is inserted.
  constexpr size_t ahead = 8;
  uint32_t hashes[ahead] = {};
  auto prefetch = [&](size_t i) {
    if (i < n)
      prefetch_home(hashes[i % ahead] = key_hash(xs[i].key()));
  };
  for (size_t i = 0; i < ahead; ++i)
    prefetch(i);
  std::unique_lock<rw_lock> guard{mtx_};
  if (closed_)
    return direct_result::closed;
  if (direct && followed_)
    return direct_result::followed;
  auto now = order_ ? now_stamp() : 0;
  for (size_t i = 0; i < n; ++i) {
    auto h = hashes[i % ahead];
    prefetch(i + ahead);
    insert_locked(std::move(xs[i]), h, now);
  }
  return direct_result::done;
}

void table::prefetch_home(uint32_t hash) const noexcept {
  // Both loads may be stale (a writer grows the array meanwhile): a prefetch
  // of any address is harmless, it never faults. The address is computed as
  // an integer, since with a stale pair it may lie past the array.
  auto& home = home_[shard_index(hash)];
  auto slots = reinterpret_cast<uintptr_t>(
    home.slots.load(std::memory_order_relaxed));
  auto mask = home.mask.load(std::memory_order_relaxed);
  __builtin_prefetch(
    reinterpret_cast<const void*>(slots + (hash & mask) * sizeof(slot)));
}

void table::publish_home(const shard& sh) noexcept {
  auto& home = home_[static_cast<size_t>(&sh - shards_.data())];
  home.slots.store(sh.slots.data(), std::memory_order_relaxed);
  home.mask.store(sh.slots.size() - 1, std::memory_order_relaxed);
}

void table::close() {
  std::unique_lock<rw_lock> guard{mtx_};
  closed_ = true;
}

size_t table::insert(std::vector<entry>& xs) {
  size_t applied = 0;
  size_t failed = 0;
  {
    std::unique_lock<rw_lock> guard{mtx_};
    // Stamps are read under the lock: the write order stays in time order.
    auto now = order_ ? now_stamp() : 0;
    // Touch the home slot of the next records early: a large table misses
    // the cache on almost every insert, and the misses overlap this way.
    // Each key is hashed once, `ahead` records before it is applied.
    constexpr size_t ahead = 8;
    uint32_t hashes[ahead] = {};
    auto prefetch = [&](size_t i) {
      if (i < xs.size() && !xs[i].value.empty()) {
        prefetch_home(hashes[i % ahead] = key_hash(xs[i].value.key()));
      }
    };
    for (size_t i = 0; i < ahead; ++i)
      prefetch(i);
    for (size_t i = 0; i < xs.size(); ++i) {
      auto h = hashes[i % ahead]; // read before `prefetch` reuses the cell
      prefetch(i + ahead);
      auto& x = xs[i];
      // A record its receiver could not decode (see `entry`) is refused:
      // its sender counts it as lost.
      if (x.barrier != 0 || x.value.empty())
        continue;
      if (x.erase) {
        erase_locked(x.value.key());
        ++applied;
        continue;
      }
      try {
        if (fault_)
          fault_(x.value);
        insert_locked(std::move(x.value), h, now);
        ++applied;
      } catch (const std::exception& ex) {
        if (failed_.load(std::memory_order_relaxed) + failed++ == 0)
          std::fprintf(stderr,
                       "supercache: a cache partition failed to store a "
                       "record (%s); further failures are only counted\n",
                       ex.what());
      }
    }
  }
  if (failed > 0)
    failed_.fetch_add(failed, std::memory_order_relaxed);
  // The records are visible now: time the sampled ones. A time that is not
  // in the past (a peer sends any value) is no sample.
  int64_t now = 0;
  for (auto& x : xs)
    if (x.enqueued_ns != 0) {
      if (now == 0)
        now = steady_ns();
      if (x.enqueued_ns > 0 && x.enqueued_ns <= now)
        latency_.record(now - x.enqueued_ns);
    }
  batches_.fetch_add(1, std::memory_order_relaxed);
  batched_records_.fetch_add(applied, std::memory_order_relaxed);
  return applied;
}

void table::update_bytes(int64_t delta) noexcept {
  bytes_.fetch_add(static_cast<size_t>(delta), std::memory_order_relaxed);
}

void table::insert_locked(packed&& x, uint32_t h, uint32_t now) {
  auto& sh = shard_of(h);
  if ((sh.used + 1) * 4 > sh.slots.size() * 3)
    grow(sh);
  auto used = size_.load(std::memory_order_relaxed);
  auto key = x.key();
  for (;;) {
    auto mask = sh.slots.size() - 1;
    for (auto i = h & mask;; i = (i + 1) & mask) {
      auto& s = sh.slots[i];
      if (s.value.empty()) {
        if (max_records_ != 0 && used >= max_records_ && !order_->empty()) {
          make_room(now); // may move slots: probe again
          used = size_.load(std::memory_order_relaxed);
          break;
        }
        update_bytes(static_cast<int64_t>(x.heap_bytes()));
        s.hash = h;
        s.value = std::move(x);
        note_write(s, now, false);
        ++sh.used;
        size_.store(used + 1, std::memory_order_release);
        prepare_growth(sh);
        return;
      }
      if (s.hash != h || s.value.key() != key)
        continue;
      if (type_ == table_type::set) {
        if (!live(s, now))
          expired_.fetch_add(1, std::memory_order_relaxed);
        update_bytes(static_cast<int64_t>(x.heap_bytes())
                     - static_cast<int64_t>(s.value.heap_bytes()));
        s.value = std::move(x); // the old block is freed with `x`
        note_write(s, now, true);
        return;
      }
      if (s.value == x) {
        // A bag stores identical records once; writing one again renews it.
        if (!live(s, now))
          expired_.fetch_add(1, std::memory_order_relaxed);
        note_write(s, now, true);
        return;
      }
    }
  }
}

void table::note_write(slot& s, uint32_t now, bool rewrite) {
  if (!order_)
    return;
  // A rewrite within the stamp of the version it replaces keeps that
  // version's entry: every slot with a hash and stamp has an entry with
  // them (see write_order.hpp).
  if (rewrite && s.stamp == now)
    return;
  s.stamp = now;
  order_->push(s.hash, now);
  if (order_->needs_compaction(size_.load(std::memory_order_relaxed)))
    compact_order();
}

table::slot_ref table::find_version(uint32_t hash, uint32_t stamp,
                                    const slot_marks* seen) noexcept {
  auto& sh = shard_of(hash);
  auto marks = seen != nullptr ? &(*seen)[shard_index(hash)] : nullptr;
  auto mask = sh.slots.size() - 1;
  for (auto i = hash & mask;; i = (i + 1) & mask) {
    auto& s = sh.slots[i];
    if (s.value.empty())
      return {};
    if (s.hash == hash && s.stamp == stamp
        && (marks == nullptr || !(*marks)[i]))
      return {&sh, i};
  }
}

void table::erase_at(shard& sh, size_t i) noexcept {
  auto& slots = sh.slots;
  auto mask = slots.size() - 1;
  update_bytes(-static_cast<int64_t>(slots[i].value.heap_bytes()));
  slots[i].value = packed{}; // frees the block
  // Move the rest of the probe run back over the gap, in order, unless a
  // record's home lies between the gap and its position.
  for (auto j = (i + 1) & mask; !slots[j].value.empty(); j = (j + 1) & mask) {
    auto home = slots[j].hash & mask;
    if (((j - home) & mask) < ((j - i) & mask))
      continue;
    slots[i] = std::move(slots[j]); // leaves slot j empty (a swap)
    i = j;
  }
  --sh.used;
  size_.store(size_.load(std::memory_order_relaxed) - 1,
              std::memory_order_release);
}

bool table::due(uint32_t now) const noexcept {
  return ttl_ticks_ != 0 && !order_->empty()
         && static_cast<uint32_t>(now - order_->front().stamp) >= ttl_ticks_;
}

size_t table::reclaim_locked(uint32_t now, size_t max) {
  size_t popped = 0;
  size_t removed = 0;
  for (; popped < max && due(now); ++popped) {
    auto x = order_->front();
    order_->pop();
    if (auto r = find_version(x.hash, x.stamp)) {
      erase_at(*r.sh, r.index);
      ++removed;
    }
  }
  if (removed > 0)
    expired_.fetch_add(removed, std::memory_order_relaxed);
  return popped;
}

void table::make_room(uint32_t now) {
  while (due(now) && size_.load(std::memory_order_relaxed) >= max_records_)
    reclaim_locked(now, 1);
  while (!order_->empty() && size_.load(std::memory_order_relaxed) >= max_records_) {
    auto x = order_->front();
    order_->pop();
    if (auto r = find_version(x.hash, x.stamp)) {
      erase_at(*r.sh, r.index);
      evicted_.fetch_add(1, std::memory_order_relaxed);
    }
  }
}

void table::compact_order() {
  // One entry per record: the first that matches a slot not matched yet.
  slot_marks seen;
  for (size_t k = 0; k < shard_count; ++k)
    seen[k].resize(shards_[k].slots.size());
  order_->compact([&](const write_order::entry& x) {
    auto r = find_version(x.hash, x.stamp, &seen);
    if (!r)
      return false;
    seen[shard_index(x.hash)][r.index] = true;
    return true;
  });
}

bool table::reclaim(size_t max_entries) {
  if (ttl_ticks_ == 0)
    return false;
  std::unique_lock<rw_lock> guard{mtx_};
  auto now = now_stamp();
  reclaim_locked(now, max_entries);
  return due(now);
}

caf::timespan table::reclaim_period() const noexcept {
  if (ttl_ticks_ == 0)
    return caf::timespan{0};
  auto period = std::chrono::duration_cast<caf::timespan>(stamp_unit{ttl_ticks_}) / 8;
  return std::clamp<caf::timespan>(period, std::chrono::milliseconds(1),
                                   std::chrono::seconds(1));
}

size_t table::size() const {
  if (ttl_ticks_ != 0) {
    auto is_due = [this] {
      std::shared_lock<rw_lock> guard{mtx_};
      return due(now_stamp());
    };
    // Tables are never const objects (shared by `std::make_shared<table>`),
    // and the records `reclaim` removes are invisible already.
    while (is_due() && const_cast<table*>(this)->reclaim(size_reclaim_chunk)) {
      // More are due: release the lock between chunks.
    }
  }
  return size_.load(std::memory_order_acquire);
}

size_t table::order_entries() const {
  std::shared_lock<rw_lock> guard{mtx_};
  return order_ ? order_->size() : 0;
}

size_t table::erase(std::string_view key) {
  std::unique_lock<rw_lock> guard{mtx_};
  return erase_locked(key);
}

size_t table::erase_locked(std::string_view key) {
  auto h = key_hash(key);
  auto& sh = shard_of(h);
  auto mask = sh.slots.size() - 1;
  auto now = ttl_ticks_ != 0 ? now_stamp() : 0;
  size_t removed = 0;
  for (auto i = h & mask; !sh.slots[i].value.empty();) {
    auto& s = sh.slots[i];
    if (s.hash == h && s.value.key() == key) {
      // An expired record was invisible already: it counts as expired.
      if (live(s, now))
        ++removed;
      else
        expired_.fetch_add(1, std::memory_order_relaxed);
      // The next record of the run moves into slot i, if any: look again.
      erase_at(sh, i);
      if (type_ == table_type::set)
        break;
    } else {
      i = (i + 1) & mask;
    }
  }
  if (removed > 0)
    erased_.fetch_add(removed, std::memory_order_relaxed);
  return removed;
}

size_t table::clear() {
  size_t removed = 0;
  cleared out; // allocated before the lock
  {
    std::unique_lock<rw_lock> guard{mtx_};
    clear_locked(out, removed);
  }
  return removed; // the old records are freed here, outside the lock
}

void table::clear_locked(cleared& out, size_t& removed) {
  out.swap(shards_);
  for (auto& sh : shards_)
    publish_home(sh);
  if (order_)
    order_->clear();
  removed = size_.load(std::memory_order_relaxed);
  size_.store(0, std::memory_order_release);
  bytes_.store(shard_count * initial_capacity * sizeof(slot),
               std::memory_order_relaxed);
  erased_.fetch_add(removed, std::memory_order_relaxed);
}

std::vector<record> table::get(std::string_view key) const {
  std::vector<record> result;
  get(key, key_hash(key), result);
  return result;
}

void table::get(std::string_view key, uint32_t h,
                std::vector<record>& out) const {
  prefetch_home(h);
  size_t found = 0;
  {
    std::shared_lock<rw_lock> guard{mtx_};
    auto now = ttl_ticks_ != 0 ? now_stamp() : 0;
    auto& sh = shard_of(h);
    auto mask = sh.slots.size() - 1;
    for (auto i = h & mask;; i = (i + 1) & mask) {
      auto& s = sh.slots[i];
      if (s.value.empty())
        break;
      if (s.hash != h || s.value.key() != key)
        continue;
      if (live(s, now)) {
        if (found < out.size())
          s.value.unpack_into(out[found]);
        else
          out.emplace_back(s.value.unpack());
        ++found;
      }
      // A set holds one slot per key (live or expired): the probe run
      // behind it, often on the next cache line, has nothing more.
      if (type_ == table_type::set)
        break;
    }
  }
  out.resize(found);
}

nlohmann::json to_json(const table& x) {
  return {{"records", x.size()},
          {"bytes", x.bytes()},
          {"failed", x.failed()},
          {"batches", x.batches()},
          {"batched_records", x.batched_records()},
          {"erased", x.erased()},
          {"expired", x.expired()},
          {"evicted", x.evicted()}};
}

} // namespace supercache
