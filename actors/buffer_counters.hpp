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

  /// Returns accepted records not yet written or dropped.
  uint64_t pending() const noexcept {
    auto done = written.load(std::memory_order_relaxed)
                + dropped.load(std::memory_order_relaxed);
    auto in = enqueued.load(std::memory_order_relaxed);
    return in > done ? in - done : 0;
  }
};

} // namespace supercache
