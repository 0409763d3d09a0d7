#pragma once

/// The stream paths of a buffer (actors/buffer.hpp): opening one to a
/// partition or a copy of it (a lane), closing one whose local partition
/// died, retiring a lane whose node went away, giving up when a remote
/// partition has no copy left, and answering a flush once every lane
/// acknowledged it. Internal to the buffer.

#include <cstddef>
#include <unordered_map>

#include <caf/error.hpp>
#include <caf/node_id.hpp>

#include "actors/buffer.hpp"

namespace supercache::detail {

using buffer_actor_ptr = buffer_actor_type*;

/// Opens the stream path to lane `i` and watches its partition.
void open_path(buffer_actor_ptr self, size_t i);

/// Forgets local partition `i` after it died: its queue stays for the
/// replacement, every unacknowledged barrier is queued again for it, and
/// what was shipped to it and not processed is counted as lost.
void close_path(buffer_actor_ptr self, size_t i);

/// Answers the flush `i` once every lane acknowledged its barrier; returns
/// whether the buffer quit (the flush was a stop).
bool complete(buffer_actor_ptr self,
              std::unordered_map<uint64_t,
                                 buffer_state::pending_flush>::iterator i);

/// Returns the partition lane `i` carries.
size_t partition_of_lane(const buffer_state& st, size_t i);

/// Stops streaming to lane `i`, a copy of a partition whose node `node`
/// went away while another copy lives: its queue goes (the other copies
/// hold the same records) and no flush waits for it any more.
void retire_lane(buffer_actor_ptr self, size_t i, const caf::node_id& node,
                 const caf::error& reason);

/// Gives up after remote lane `i` went away with `reason` and its
/// partition has no copy left: fails every pending flush and counts what
/// the buffer holds as lost.
void give_up(buffer_actor_ptr self, size_t i, const caf::error& reason);

} // namespace supercache::detail
