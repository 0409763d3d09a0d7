#pragma once

#include <atomic>
#include <cstdint>

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

  /// Set by a buffer whose remote cache went away: producers then get
  /// `errc::unreachable` instead of queueing records that cannot arrive.
  std::atomic<bool> unreachable{false};

  /// Returns accepted records not yet written, dropped or lost.
  uint64_t pending() const noexcept {
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

} // namespace supercache
