#pragma once

/// A readers-writer lock for the short critical sections of a `table`:
/// readers (`get`, `size`, scans) touch only a counter of their own (one of
/// `stripes` cache lines, picked by `routing::thread_index`), so that
/// concurrent lookups do not bounce one lock word between cores; writers
/// (an insert, a batch) pay for it by scanning the stripes.
///
/// Protocol. A writer takes `gate_` exclusively (spinning briefly before it
/// sleeps: its critical sections are short), raises `writing_`, then waits
/// until every stripe is zero. A reader increments its stripe and, if no
/// writer raised `writing_`, is in (sequentially consistent increment and
/// load against the writer's store and loads, as in Dekker's algorithm).
/// Otherwise it withdraws, waits for the writer by taking `gate_` shared
/// (sleeping), increments its stripe while holding it (no writer can be
/// inside then) and releases `gate_`. A writer therefore waits only for the
/// readers that were inside when it raised `writing_`; they never block
/// inside (the callers guarantee it), so its wait is bounded by their
/// critical sections: it spins, then yields the core.
///
/// Interface of `std::shared_mutex` (lock, unlock, lock_shared,
/// unlock_shared), for `std::unique_lock` and `std::shared_lock`. Not
/// recursive.

#include <array>
#include <atomic>
#include <cstdint>
#include <shared_mutex>
#include <thread>

#include "core/routing.hpp"

namespace supercache {

class rw_lock {
public:
  /// Counters of readers inside; a power of two.
  static constexpr size_t stripes = 8;

  rw_lock() = default;
  rw_lock(const rw_lock&) = delete;
  rw_lock& operator=(const rw_lock&) = delete;

  void lock() {
    // Spin a little before sleeping on the gate: another writer holds it for
    // one insert, typically well under a microsecond.
    bool taken = false;
    for (int i = 0; i < spin_tries && !taken; ++i) {
      taken = gate_.try_lock();
      if (!taken)
        pause(16);
    }
    if (!taken)
      gate_.lock();
    writing_.store(true);
    for (auto& x : stripes_)
      for (unsigned i = 0; x.n.load() != 0; ++i) {
        if (i < spin_tries)
          pause(16);
        else
          std::this_thread::yield();
      }
  }

  void unlock() {
    writing_.store(false, std::memory_order_release);
    gate_.unlock();
  }

  void lock_shared() {
    auto& n = stripe();
    n.fetch_add(1);
    if (!writing_.load())
      return;
    n.fetch_sub(1, std::memory_order_release);
    std::shared_lock<std::shared_mutex> guard{gate_};
    n.fetch_add(1);
  }

  void unlock_shared() {
    stripe().fetch_sub(1, std::memory_order_release);
  }

  /// Returns whether a writer holds the lock or waits for readers to leave.
  bool writer_inside() const noexcept {
    return writing_.load();
  }

private:
  static constexpr int spin_tries = 64;

  struct alignas(64) counter {
    std::atomic<uint32_t> n{0};
  };

  static void pause(int n) noexcept {
    for (int i = 0; i < n; ++i)
      __builtin_ia32_pause();
  }

  std::atomic<uint32_t>& stripe() noexcept {
    return stripes_[routing::thread_index() & (stripes - 1)].n;
  }

  std::shared_mutex gate_;
  alignas(64) std::atomic<bool> writing_{false};
  std::array<counter, stripes> stripes_;
};

} // namespace supercache
