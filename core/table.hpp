#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <shared_mutex>
#include <string_view>
#include <vector>

#include "core/huge_pages.hpp"
#include "core/rw_lock.hpp"
#include "core/latency.hpp"
#include "actors/messages.hpp"
#include "core/packed.hpp"
#include "core/write_order.hpp"
#include <supercache/record.hpp>
#include <supercache/options.hpp>

namespace supercache {

class record_pattern;

/// The records of one cache partition: an open-addressing hash table of
/// packed records (32 bytes a slot, which holds a record of at most
/// `packed::inline_capacity` MessagePack bytes whole; a larger one adds a
/// heap block), keyed by the MessagePack bytes of the key element.
///
/// The slots are split into 16 shards by the top bits of a key's hash; each
/// shard is a slot array of its own that doubles on its own, so a growth
/// holds the write lock for the moves of a sixteenth of the records (one
/// array's doubling at 3.1M records stalled readers and writers 37 ms).
///
/// Thread safety: two kinds of writers - the partition's cache actor (batches
/// from the buffers, `put_atom`) and, for a local cache, the callers of
/// `instance::put`/`put_batch`/`erase`/`clear`, which write straight into the table from
/// their own thread (like ETS) - and any number of concurrent readers. Every
/// writer takes the exclusive lock, once per batch; readers take a shared
/// lock, so `get` and `size` never go through the actor (like ETS's read
/// concurrency; the lock is an `rw_lock`, whose readers touch only a counter
/// of their own, and writers never sleep before spinning briefly). Writes of one key are applied in the order they take the
/// lock. Once `close`d (its partition died or the cache stopped), the table
/// refuses direct writes, so a caller never stores into a table nobody reads.
/// `erase` and `clear` are writers too, from any thread.
///
/// Deletion shifts the records behind a removed one back into its probe run
/// (backward-shift deletion, no tombstones), keeping the records of a key in
/// their stored order. Scans (`match`, `for_each`) copy the MessagePack bytes
/// of a partition's records into one buffer under the shared lock (a
/// consistent snapshot of this table; writers wait only for the copy) and
/// decode them after releasing it (core/table_scan.cpp).
///
/// Expiry and size bound (`table_limits`, see core/write_order.hpp): a
/// record whose last write is `ttl` or more ago is invisible to every read at
/// once (`live`) and removed by `reclaim` (the partition's timer) or by the
/// next `size`; at `max_records`, an insert of a new record first removes
/// expired records, then evicts the least recently written one.
class table {
public:
  // -- constructors -----------------------------------------------------------

  table(table_type type, record_layout layout, table_limits limits = {});

  table(const table&) = delete;
  table& operator=(const table&) = delete;

  // -- writing (the owning actor, and direct writers) -------------------------

  /// Stores one valid record: for `set` it replaces the record of its key, for
  /// `bag` it is added unless an identical record is stored under its key.
  void insert(record x);

  /// Stores one packed record, as `insert(record)`.
  void insert(packed x);

  /// Stores every record of `xs` that is not a barrier, and applies every
  /// lazy erase (`entry::erase`: removes the records of its key), in order,
  /// under one lock. A record whose insertion throws is counted in `failed()`, logged
  /// once per table, and skipped; the rest of the batch is stored. Returns
  /// the number of records stored or replaced.
  size_t insert(std::vector<entry>& xs);

  /// Stores records copied from another node's table (a rejoin,
  /// actors/cache_follow.hpp): each entry's `enqueued_ns` holds the record's
  /// age there in nanoseconds, and it is stored as written that long ago, so
  /// its `ttl` counts from its last write, not from the copy; one already
  /// expired here is skipped and counted in `expired()`. Barriers are
  /// skipped; erases (`entry::erase`, forwarded ones) are applied in order.
  /// Returns the number of records stored or replaced and erases applied.
  size_t insert_copied(std::vector<entry>& xs);

  /// Stores the `n` packed records at `xs`, in order, under one lock (a
  /// direct write from the caller's thread). Returns false, storing nothing,
  /// if the table is closed.
  bool insert_direct(packed* xs, size_t n);

  // -- direct writers of a table that may have followers ----------------------

  /// What a write of another thread than the owning actor's did.
  enum class direct_result {
    /// Written.
    done,
    /// Nothing written: the table is closed (`close`).
    closed,
    /// Nothing written: the table has followers (`follow`), so the write
    /// goes through the owning actor, which forwards what it applies.
    followed,
  };

  /// Marks the table as copied to followers: from now on `put_direct`,
  /// `erase_direct` and `clear_direct` write nothing and say so. Called by
  /// the owning actor before it takes the copy: a direct write either comes
  /// before it (and is in the copy) or is refused.
  void follow();

  /// `insert_direct` for another thread than the owning actor's.
  direct_result put_direct(packed* xs, size_t n);

  /// `erase` for another thread than the owning actor's: removes every
  /// record of `key` into `removed` unless the table has followers.
  direct_result erase_direct(std::string_view key, size_t& removed);

  /// `clear` for another thread than the owning actor's: removes every
  /// record into `removed` unless the table has followers.
  direct_result clear_direct(size_t& removed);

  /// Refuses every later `insert_direct`; the partition's actor may still
  /// write (it is terminating).
  void close();

  /// Removes every record stored under `key` (the `key_of` form): for `set`
  /// at most one, for `bag` all of them. Returns how many it removed. Any
  /// thread.
  size_t erase(std::string_view key);

  /// Removes every record; returns how many. Any thread.
  size_t clear();

  /// Calls `f` before each record is inserted (tests inject failures with it).
  void inject_faults(std::function<void(const packed&)> f) {
    fault_ = std::move(f);
  }

  /// Removes expired records, popping at most `max_entries` entries of the
  /// write order under one write lock; returns whether more are due.
  bool reclaim(size_t max_entries);

  /// Returns how often the owner should call `reclaim`: `ttl / 8` clamped to
  /// 1 ms..1 s, or 0 without `ttl`.
  caf::timespan reclaim_period() const noexcept;

  // -- shards -----------------------------------------------------------------

  /// A key's shard is the top `shard_bits` bits of its `key_hash`; its home
  /// slot in the shard the low bits.
  static constexpr unsigned shard_bits = 4;

  static constexpr size_t shard_count = size_t{1} << shard_bits;

  /// Slots of a shard of a new or cleared table (1,024 in all).
  static constexpr size_t initial_capacity = 64;

  /// Returns the shard of a key whose `key_hash` is `hash`.
  static size_t shard_index(uint32_t hash) noexcept {
    return hash >> (32 - shard_bits);
  }

  // -- reading (any thread) ---------------------------------------------------

  /// Returns the records stored under `key` (the `key_of` form), for `bag` in
  /// the order they were first stored.
  std::vector<record> get(std::string_view key) const;

  /// Replaces the contents of `out` with the records stored under `key`,
  /// whose `key_hash` is `hash`, decoding into the records `out` holds
  /// (`packed::unpack_into`): a lookup into the vector of an earlier one of
  /// the same shape allocates nothing.
  void get(std::string_view key, uint32_t hash,
           std::vector<record>& out) const;

  /// Returns the hash under which the table files `key`: the low 32 bits of
  /// `std::hash<std::string_view>`, which a caller that hashed `key` already
  /// may take instead.
  static uint32_t key_hash(std::string_view key) noexcept {
    return static_cast<uint32_t>(std::hash<std::string_view>{}(key));
  }

  /// Returns the records that match `pattern` (core/pattern.hpp), in slot
  /// order (the records of one key in their stored order), from a
  /// consistent snapshot of this table.
  std::vector<record> match(const record_pattern& pattern) const;

  /// Returns the records that match `pattern`, as `match(pattern)`, unless
  /// their MessagePack bytes exceed `max_bytes`: then, without decoding any,
  /// `errc::too_large` naming `what` (e.g. "a match reply"), the number of
  /// records and the one at which the bound was crossed.
  caf::expected<std::vector<record>> match(const record_pattern& pattern,
                                           size_t max_bytes,
                                           const char* what) const;

  /// Calls `f` with every record of a consistent snapshot of this table
  /// (taken under the shared lock; `f` runs after it is released, so it may
  /// call into the table). Exceptions of `f` propagate.
  void for_each(const std::function<void(const record&)>& f) const;

  /// Calls `f` as `for_each` does, with each record's age (since its last
  /// write): oldest first with a `ttl` or `max-records` (a table storing them
  /// with `insert_copied` in this order keeps its write order in time
  /// order), otherwise in slot order with age 0.
  void for_each_aged(
    const std::function<void(const record&, caf::timespan age)>& f) const;

  /// Returns the number of records stored and not expired. With a `ttl`, it
  /// first removes the expired records (under the write lock) if the oldest
  /// write is due: logically const, the removed records are invisible.
  size_t size() const;

  /// Returns the bytes the stored records and the slot array occupy, with
  /// the pages of the next growth's array faulted in so far (not counting
  /// allocator overhead).
  size_t bytes() const noexcept {
    return bytes_.load(std::memory_order_relaxed);
  }

  /// Returns the number of batches applied with `insert(std::vector<entry>&)`
  /// (records and lazy erases).
  size_t batches() const noexcept {
    return batches_.load(std::memory_order_relaxed);
  }

  /// Returns the number of records applied by batches (stored or replacing).
  size_t batched_records() const noexcept {
    return batched_records_.load(std::memory_order_relaxed);
  }

  /// Returns the number of records removed by `erase`, `clear` and lazy
  /// erases.
  size_t erased() const noexcept {
    return erased_.load(std::memory_order_relaxed);
  }

  /// Returns the number of records removed (or overwritten) after they
  /// expired.
  size_t expired() const noexcept {
    return expired_.load(std::memory_order_relaxed);
  }

  /// Returns the number of records evicted at `max_records`.
  size_t evicted() const noexcept {
    return evicted_.load(std::memory_order_relaxed);
  }

  /// Returns the number of write-order entries (stale ones included; 0
  /// without limits).
  size_t order_entries() const;

  /// Returns the number of records whose insertion threw.
  size_t failed() const noexcept {
    return failed_.load(std::memory_order_relaxed);
  }

  /// Returns the enqueue-to-visible latencies of sampled records.
  const latency_histogram& latency() const noexcept {
    return latency_;
  }

  /// Returns the storage discipline.
  table_type type() const noexcept {
    return type_;
  }

  /// Returns where records keep their key.
  const record_layout& layout() const noexcept {
    return layout_;
  }

private:
  /// One slot: 32 bytes, half a cache line. `stamp` is the write stamp of the current version
  /// (`write_order`); `hash` the low 32 bits of the key's hash.
  struct slot {
    uint32_t hash = 0;
    uint32_t stamp = 0;
    packed value;
  };

  /// The slots; a large array sits on huge pages (core/huge_pages.hpp).
  using slot_array = std::vector<slot, huge_page_allocator<slot>>;

  /// The MessagePack bytes of some records, back to back.
  struct snapshot {
    std::string bytes;
    std::vector<size_t> ends;
  };

  /// One shard: its slots, the array of its next growth while
  /// `prepare_growth` faults it in (else empty; its first `next_touched`
  /// pages of `growth_page` bytes are in), and its number of records.
  struct shard {
    slot_array slots = slot_array(initial_capacity);
    slot_array next;
    size_t next_touched = 0;
    size_t used = 0;
  };

  shard& shard_of(uint32_t hash) noexcept {
    return shards_[shard_index(hash)];
  }

  const shard& shard_of(uint32_t hash) const noexcept {
    return shards_[shard_index(hash)];
  }

  /// A slot of a shard, as `find_version` finds it.
  struct slot_ref {
    shard* sh = nullptr;
    size_t index = 0;
    explicit operator bool() const noexcept {
      return sh != nullptr;
    }
  };

  /// Returns whether slot `s` holds a record that is visible at stamp `now`
  /// (`now_stamp`): every read (get, size, match, for_each) skips the rest.
  bool live(const slot& s, uint32_t now) const noexcept {
    return !s.value.empty()
           && (ttl_ticks_ == 0 || static_cast<uint32_t>(now - s.stamp)
                                    < ttl_ticks_);
  }

  /// Returns the current stamp (milliseconds since this table's epoch).
  uint32_t now_stamp() const noexcept;

  /// Stores `x`, whose `key_hash` is `h`, at stamp `now` (the caller holds
  /// the exclusive lock).
  void insert_locked(packed&& x, uint32_t h, uint32_t now);

  /// Records the write of slot `s` at `now` in the write order (`rewrite`:
  /// the slot held a version of this record before).
  void note_write(slot& s, uint32_t now, bool rewrite);

  /// Marks of slots, one vector per shard (`compact_order`).
  using slot_marks = std::array<std::vector<bool>, shard_count>;

  /// Returns the first slot with `hash` and `stamp` not marked in `seen` (if
  /// given), or none.
  slot_ref find_version(uint32_t hash, uint32_t stamp,
                        const slot_marks* seen = nullptr) noexcept;

  /// Returns whether the oldest write order entry is due at `now`.
  bool due(uint32_t now) const noexcept;

  /// Pops due entries, at most `max`, and removes their records; returns
  /// the number of entries popped.
  size_t reclaim_locked(uint32_t now, size_t max);

  /// Makes room for one record at `max_records`: removes due records, else
  /// evicts the least recently written one.
  void make_room(uint32_t now);

  /// Drops stale write-order entries.
  void compact_order();

  size_t erase_locked(std::string_view key);

  /// Removes the record in slot `i` of `sh` and shifts the rest of its
  /// probe run back (the caller holds the exclusive lock).
  void erase_at(shard& sh, size_t i) noexcept;

  /// Copies the records `pattern` matches (all for null) under the shared
  /// lock.
  snapshot take_snapshot(const record_pattern* pattern) const;

  /// Doubles the slot array of `sh` (the caller holds the exclusive lock),
  /// moving into the array `prepare_growth` faulted in if it is ready.
  void grow(shard& sh);

  /// Called after an insert of a new record into `sh` (under the exclusive
  /// lock): on the last eighth of the way to the size at which the shard
  /// grows, allocates its next slot array and faults in the share of its
  /// pages that the share of the way asks for, so that `grow` writes into
  /// memory that is there and stalls its writer for the moves only (in a
  /// fresh process a page's first write costs the kernel's zeroing). Never
  /// throws: without memory for the array it prepares nothing.
  void prepare_growth(shard& sh) noexcept;

  /// The shards a clear takes out of the table: they come in empty
  /// (allocated before the lock) and go out with the removed records and
  /// the arrays `prepare_growth` prepared; the caller frees them after it
  /// released the lock.
  using cleared = std::array<shard, shard_count>;

  /// Stores `xs` as `insert_direct`; refuses if closed or (`direct`)
  /// followed.
  direct_result write_run(packed* xs, size_t n, bool direct);

  /// Clears the table: swaps in `out.slots`, allocated empty by the caller
  /// before the lock, and leaves the removed records in it and the prepared
  /// next array in `out.next` (freed by the caller, outside the lock) and
  /// their count in `removed`.
  void clear_locked(cleared& out, size_t& removed);

  /// Starts loading the home slot of `hash` before the lock is taken (any
  /// thread, no lock: reads `home_`).
  void prefetch_home(uint32_t hash) const noexcept;

  /// Publishes the slot array of `sh` to `prefetch_home` (under the write
  /// lock).
  void publish_home(const shard& sh) noexcept;

  void update_bytes(int64_t delta) noexcept;

  const table_type type_;
  const record_layout layout_;
  const caf::actor_clock* clock_;
  const caf::actor_clock::time_point epoch_;
  const uint32_t ttl_ticks_;
  const size_t max_records_;
  /// Null without limits.
  std::unique_ptr<write_order> order_;
  mutable rw_lock mtx_;
  std::array<shard, shard_count> shards_;
  static constexpr size_t growth_page = 4096;
  /// Where each shard's slots are, for `prefetch_home`, which reads them
  /// without the lock; on cache lines of their own, away from the counters
  /// every insert writes.
  struct home_slot {
    std::atomic<const slot*> slots{nullptr};
    std::atomic<size_t> mask{0};
  };
  alignas(64) std::array<home_slot, shard_count> home_;
  alignas(64) std::atomic<size_t> size_{0};
  std::atomic<size_t> bytes_{0};
  std::atomic<size_t> batches_{0};
  std::atomic<size_t> batched_records_{0};
  std::atomic<size_t> failed_{0};
  bool closed_ = false; // guarded by mtx_
  bool followed_ = false; // guarded by mtx_

  std::atomic<size_t> erased_{0};
  std::atomic<size_t> expired_{0};
  std::atomic<size_t> evicted_{0};
  std::function<void(const packed&)> fault_;
  latency_histogram latency_;
};

/// Returns the counters of a partition's table as JSON: records, bytes,
/// failed, batches, batched_records, erased, expired, evicted.
nlohmann::json to_json(const table& x);

} // namespace supercache
