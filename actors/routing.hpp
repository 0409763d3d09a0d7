#pragma once

/// Routing of producers to buffers, the port of BEAM's scheduler-id routing.
///
/// A thread that is a scheduler worker of the running actor system maps to
/// its worker id (0..W-1); any other thread gets a stable per-thread index.
/// The result is cached per thread, so the hot path costs a thread-local read.

#include <cstddef>

#include <caf/fwd.hpp>

namespace supercache::routing {

/// Returns a stable index of the calling thread (0, 1, 2, ... in order of
/// first use), never reused while the process runs.
size_t thread_index() noexcept;

/// Returns the lane of the calling thread: its worker id if it is a scheduler
/// worker of the system given to the last `learn_workers`, else its
/// `thread_index`. Callers pick buffer `lane % N`.
/// @pre no concurrent `learn_workers` (callers hold the buffer gate).
size_t current_lane() noexcept;

/// Records the worker threads of `sys` (none if its scheduler is not CAF's
/// work-stealing coordinator, e.g. under the test coordinator) and
/// invalidates every thread's cached lane.
void learn_workers(caf::actor_system& sys);

} // namespace supercache::routing
