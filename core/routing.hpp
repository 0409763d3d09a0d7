#pragma once

/// Routing of producers to buffers, the port of BEAM's scheduler-id routing.
///
/// A thread that is a scheduler worker of an instance's actor system maps to
/// its worker id (0..W-1); any other thread gets a stable per-thread index.
/// The answer is cached per thread for the last instance asked, so the hot
/// path costs a thread-local read.

#include <cstddef>
#include <cstdint>
#include <thread>
#include <vector>

#include <caf/fwd.hpp>

namespace caf {
class logger;
} // namespace caf

namespace supercache::routing {

/// Returns a stable index of the calling thread (0, 1, 2, ... in order of
/// first use), never reused while the process runs.
size_t thread_index() noexcept;

/// Returns a new process-unique owner id (for `place`'s cache).
uint64_t next_owner_id() noexcept;

/// Where the calling thread stands relative to one actor system.
struct placement {
  /// The worker id if the thread is a scheduler worker of that system, else
  /// the thread's `thread_index`.
  size_t lane = 0;
  /// Whether the thread is a scheduler worker of that system.
  bool own_worker = false;
  /// Whether the thread belongs to another actor system: one CAF started
  /// (a scheduler worker, the clock, the multiplexer) for a system whose
  /// logger is not `own_logger`.
  bool foreign = false;
};

/// Returns the placement of the calling thread for the system with worker
/// threads `workers` and logger `own_logger`; `owner` (from `next_owner_id`)
/// keys the per-thread cache.
placement place(uint64_t owner, const std::vector<std::thread::id>& workers,
                const caf::logger* own_logger) noexcept;

/// Returns the worker threads of `sys` by worker id: none unless its
/// scheduler is CAF's work-stealing coordinator (not under the test
/// coordinator).
std::vector<std::thread::id> worker_threads(caf::actor_system& sys);

} // namespace supercache::routing
