#pragma once

/// The supervisor: restarts cache partitions and buffers that die.
///
/// **Messages.**
/// - `(watch_atom, bool is_partition, uint32_t index, actor)`, from the
///   instance that spawned it: monitors the actor as partition or buffer `index`.
/// - `down_msg` of a watched actor: an exit with `none` or `user_shutdown`
///   is a deliberate stop and is forgotten; any other reason (an exception,
///   `kill`, an error) makes the supervisor call the matching hook with the
///   index and the dead actor; the hook settles what died with it (see
///   `counter_board`), replaces the actor and returns the replacement to
///   watch. After a partition restart it sends `(reopen_atom, index, new
///   partition)` to every buffer it watches.
/// - `(retry_atom, uint32_t index, actor_addr dead)`, to itself: a buffer
///   restart that found a start or stop holding the lifecycle lock is tried
///   again 1 ms later.
/// - Both are local only: from another node they are refused and counted,
///   as are exits from another node (`guarded_actor`).
///
/// **Order and loss.** See `cache.hpp` and `buffer.hpp` for what survives a
/// restart; the supervisor itself holds no records.
///
/// **Stopping.** `instance::stop` terminates it first, so the deliberate
/// exits of the buffers and partitions that follow are never restarted.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>
#include <caf/event_based_actor.hpp>

#include "actors/messages.hpp"
#include "actors/remote_guard.hpp"

namespace supercache {

/// Replaces partition `index` after `dead` died; returns the replacement, or
/// `std::nullopt` if there is nothing to replace.
using partition_hook = std::function<std::optional<caf::actor>(
  uint32_t index, const caf::actor_addr& dead)>;

/// Replaces buffer `index` after `dead` died; returns the replacement, an
/// invalid handle if there is nothing to replace, or `std::nullopt` to be
/// called again later.
using buffer_hook = std::function<std::optional<caf::actor>(
  uint32_t index, const caf::actor_addr& dead)>;

/// Returns the behavior of a supervisor that restarts partitions with
/// `restart_partition` and buffers with `restart_buffer`, counting what its
/// guard refuses into `guards` (its instance's counters).
caf::behavior supervisor_actor(guarded_actor* self,
                               partition_hook restart_partition,
                               buffer_hook restart_buffer,
                               guard_counters_ptr guards);

} // namespace supercache
