#pragma once

/// The write order of a table's records: what expiry (`ttl`) and the size
/// bound (`max-records`) of a cache partition pop from.
///
/// The `ttl` is the same for every record of a table, so records expire in
/// the order they were last written: one FIFO of (hash, stamp) entries per
/// table serves both expiry (pop from the front while the front is older
/// than `ttl`) and least-recently-written eviction (pop the front). Each
/// write appends one entry; the table's slot keeps the stamp of its current
/// version, so an entry whose slot no longer holds that hash and stamp
/// (rewritten, erased) is stale and skipped when it reaches the front.
///
/// Stamps are milliseconds since the table's epoch, read from the actor
/// system's clock (simulated on CAF's test coordinator), truncated to 32 bits
/// and compared modulo 2^32: a `ttl` is therefore at most `max_ttl` (596 h).
/// Two writes of a key within one millisecond keep one entry (the stamp did
/// not change): their order within that millisecond is not kept, which
/// neither expiry (same stamp) nor eviction (same age) can tell apart.
///
/// Without `ttl` (`max-records` alone) a stale entry could match a slot
/// again only if its key were written at the same stamp modulo 2^32 ms
/// (49.7 days later) before a compaction dropped the entry: that record
/// would then be evicted early. An entry matched by another key with the
/// same 32-bit hash and stamp expires or evicts that record at the same age,
/// as its own entry would.
///
/// For the table's other writers: removing a record needs nothing here (its
/// entry goes stale); a table-wide clear calls `clear()`; scans skip slots
/// that are not `table::live`.
///
/// Not thread-safe: the table calls it under its write lock.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>

#include <caf/actor_clock.hpp>
#include <caf/timespan.hpp>

namespace supercache {

/// Expiry and size bound of one table; the defaults keep neither (and no
/// write order: an insert costs what it did without them).
struct table_limits {
  /// How long a record stays visible after its last write; 0 for ever.
  caf::timespan ttl{0};

  /// Records the table holds at most; 0 for no bound.
  size_t max_records = 0;

  /// The clock stamps and expiry read (the actor system's); null for the
  /// steady clock.
  const caf::actor_clock* clock = nullptr;

  /// Returns whether the table needs a write order.
  bool any() const noexcept {
    return ttl.count() > 0 || max_records > 0;
  }
};

/// The resolution of stamps and of `ttl`.
using stamp_unit = std::chrono::milliseconds;

/// The longest `ttl` the 32-bit stamps can tell apart (2^31 - 1 ms, ~596 h).
inline constexpr caf::timespan max_ttl = stamp_unit{INT32_MAX};

/// Returns `ttl` in stamp units, rounded up.
uint32_t ttl_ticks(caf::timespan ttl) noexcept;

/// A FIFO of (hash, stamp) entries in write order.
class write_order {
public:
  /// One write: the low 32 bits of the key's hash and the write's stamp.
  struct entry {
    uint32_t hash;
    uint32_t stamp;
  };

  /// Entries beyond twice the live records that `needs_compaction` allows.
  static constexpr size_t slack = 1024;

  /// Appends a write.
  void push(uint32_t hash, uint32_t stamp) {
    entries_.push_back({hash, stamp});
  }

  /// Returns whether no entry is left.
  bool empty() const noexcept {
    return entries_.empty();
  }

  /// Returns the oldest entry.
  const entry& front() const noexcept {
    return entries_.front();
  }

  /// Drops the oldest entry.
  void pop() noexcept {
    entries_.pop_front();
  }

  /// Returns the number of entries, stale ones included.
  size_t size() const noexcept {
    return entries_.size();
  }

  /// Returns the bytes the entries occupy.
  size_t bytes() const noexcept {
    return entries_.size() * sizeof(entry);
  }

  /// Drops every entry.
  void clear() noexcept {
    entries_.clear();
  }

  /// Returns whether stale entries outnumber the `live` records (plus
  /// `slack`): then `compact` pays for itself.
  bool needs_compaction(size_t live) const noexcept {
    return entries_.size() > 2 * live + slack;
  }

  /// Keeps the entries for which `keep(entry)` holds, in order; returns how
  /// many it dropped.
  template <class Keep>
  size_t compact(Keep&& keep) {
    std::deque<entry> kept;
    for (auto& x : entries_)
      if (keep(x))
        kept.push_back(x);
    auto dropped = entries_.size() - kept.size();
    entries_.swap(kept);
    return dropped;
  }

private:
  std::deque<entry> entries_;
};

} // namespace supercache
