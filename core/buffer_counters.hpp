#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>

#include "core/names.hpp"

namespace supercache {

/// Counters of one buffer, shared by its producers, the buffer actor and
/// readers of `stats()`. Producers write `enqueued` and `rejected`; the buffer
/// writes `written`, `dropped` and `batches`, on another cache line.
struct buffer_counters {
  /// Records accepted (lazy_put returned none, or a put_atom was answered ok).
  alignas(64) std::atomic<uint64_t> enqueued{0};

  /// Records refused with `errc::overloaded`.
  std::atomic<uint64_t> rejected{0};

  /// Records shipped to the cache in stream batches.
  alignas(64) std::atomic<uint64_t> written{0};

  /// Records dropped by the `drop-oldest` policy.
  std::atomic<uint64_t> dropped{0};

  /// Stream batches shipped to the cache.
  std::atomic<uint64_t> batches{0};

  /// Records lost: in flight to a partition that died before processing
  /// them, or held by a buffer that was killed (then also counted here and
  /// no longer pending).
  std::atomic<uint64_t> lost{0};

  /// Records of this buffer that cache partitions processed (stored, or
  /// failed to store): advanced by local partitions as they apply batches,
  /// so that `pending()` counts records until they are stored.
  alignas(64) std::atomic<uint64_t> processed{0};

  /// Whether partitions advance `processed` (local partitions); a buffer
  /// streaming to a remote node counts records as done once shipped.
  bool end_to_end = true;

  /// Set by a buffer whose remote cache went away: producers then get
  /// `errc::unreachable` instead of queueing records that cannot arrive.
  std::atomic<bool> unreachable{false};

  /// Returns accepted records not yet stored, dropped or lost: queued in the
  /// buffer's mailbox or stage, in flight, or waiting in a partition's inbox
  /// (for a remote cache: not yet shipped). The bound `max-pending` applies
  /// to this count.
  uint64_t pending() const noexcept {
    auto done = end_to_end
                  ? processed.load(std::memory_order_relaxed)
                      + dropped.load(std::memory_order_relaxed)
                      + lost.load(std::memory_order_relaxed)
                  : written.load(std::memory_order_relaxed)
                      + dropped.load(std::memory_order_relaxed)
                      + lost_held.load(std::memory_order_relaxed);
    // For a remote cache this equals `unshipped()`.
    auto in = enqueued.load(std::memory_order_relaxed);
    return in > done ? in - done : 0;
  }

  /// Returns accepted records not yet shipped, dropped or lost: what a
  /// buffer holds in its mailbox and stage.
  uint64_t unshipped() const noexcept {
    auto done = written.load(std::memory_order_relaxed)
                + dropped.load(std::memory_order_relaxed)
                + lost_held.load(std::memory_order_relaxed);
    auto in = enqueued.load(std::memory_order_relaxed);
    return in > done ? in - done : 0;
  }

  /// Of `lost`, the records that were still held (not yet written) when
  /// their buffer died.
  std::atomic<uint64_t> lost_held{0};
};

/// The counters of every buffer of an instance, by buffer index: shared by
/// the instance, its buffers and its local partitions (which advance
/// `processed`). A slot is written only before the buffer of that index
/// starts, and read after its stream handshake.
struct counter_board {
  std::array<std::shared_ptr<buffer_counters>, max_registered_id> slots;
};

} // namespace supercache
