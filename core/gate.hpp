#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <thread>

#include "core/routing.hpp"

namespace supercache {

/// Admits producers while open, and lets a closer wait until every admitted
/// producer has left: the guard that makes `buffer::stop` lose nothing.
///
/// A producer holds a `pass` from checking that the buffers run until its
/// message is in a mailbox. `close_and_wait` stops admitting and returns once
/// no pass is left, so every accepted record is queued ahead of the stop.
/// Counters are striped by thread so producers do not share a cache line.
class gate {
public:
  /// Number of counter stripes; a thread uses `thread_index() % stripes`.
  static constexpr size_t stripes = 64;

  /// An admission (or a refusal) of the calling thread; leaves on destruction.
  class pass {
  public:
    explicit pass(gate& g) noexcept
      : inside_(g.stripes_[routing::thread_index() % stripes].inside) {
      inside_.fetch_add(1, std::memory_order_seq_cst);
      admitted_ = g.open_.load(std::memory_order_seq_cst);
    }

    pass(const pass&) = delete;
    pass& operator=(const pass&) = delete;

    ~pass() {
      inside_.fetch_sub(1, std::memory_order_release);
    }

    /// Returns whether the gate was open; it stays logically open for this
    /// pass until the pass is destroyed.
    bool admitted() const noexcept {
      return admitted_;
    }

  private:
    std::atomic<uint64_t>& inside_;
    bool admitted_;
  };

  /// Starts admitting; publishes every write made before it to admitted
  /// producers.
  void open() noexcept {
    open_.store(true, std::memory_order_seq_cst);
  }

  /// Stops admitting; returns at once.
  void close() noexcept {
    open_.store(false, std::memory_order_seq_cst);
  }

  /// Returns whether the gate admits producers.
  bool is_open() const noexcept {
    return open_.load(std::memory_order_seq_cst);
  }

  /// Returns whether no pass is alive.
  bool drained() const noexcept {
    for (auto& s : stripes_)
      if (s.inside.load(std::memory_order_seq_cst) != 0)
        return false;
    return true;
  }

  /// Stops admitting and waits until every pass has left. Passes are held
  /// only for a non-blocking send, so the wait is short.
  void close_and_wait() noexcept {
    close();
    while (!drained())
      std::this_thread::yield();
  }

private:
  struct alignas(64) stripe {
    std::atomic<uint64_t> inside{0};
  };

  std::atomic<bool> open_{false};
  std::array<stripe, stripes> stripes_;
};

} // namespace supercache
