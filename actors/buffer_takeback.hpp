#pragma once

/// Taking a rejoined copy back: how a running producer's buffer starts
/// streaming to a copy of a partition that restarted empty and copied a
/// live copy (its leader, actors/cache_follow.hpp), without losing or
/// doubling a record. Internal to the buffer (actors/buffer.hpp).
///
/// **Message.** `(follow_atom, uint32_t partition, node_id node, uint64_t
/// token)` from the leader, which must be a live lane of `partition` of
/// this buffer (else refused and counted): the copy on `node` follows the
/// sender and gets this buffer's records through it. The buffer links to
/// the node itself: it tries each node the map gives `partition` that has
/// no live lane here (`buffer_settings::homes`) through
/// `buffer_settings::connector`, takes the one whose node id is `node`,
/// and gets the partition actor from that node's front (`get_atom`). Each
/// request ends after `call_timeout`; a failure is logged once and leaves
/// the buffer as it was (the copy keeps getting records through the
/// leader). Repeats while a take-back of the same copy runs are ignored.
///
/// **Order and loss.** The hand-over is one point in the buffer's stream:
/// in one handler it adds a lane for the copy (the lane of the partition
/// that was retired when the copy's node went away, if there is one: a
/// node that goes and comes back again adds no lanes), queues a hand-over
/// (`is_handover`, with `token`) first on the new lane and behind
/// everything queued on the leader's lane, and from then on queues each
/// record of the partition on the new lane too. The leader forwards what
/// it got before the hand-over, then tells the copy and forwards nothing
/// more of this stream; the copy holds this stream's batches until then.
/// So every record reaches the copy once, in this buffer's order. The
/// hand-over is acknowledged like a flush barrier by both; a later flush
/// waits for the new lane as for any other.
///
/// **Failure.** If the leader goes away before it told the copy, the copy
/// applies what it held; records the leader had not forwarded may be
/// missing there (logged by the copy). The new lane is then a lane like any
/// other: losing the leader's node no longer loses the partition.

#include <cstdint>

#include <caf/node_id.hpp>

#include "actors/buffer.hpp"

namespace supercache::detail {

/// Handles `(follow_atom, partition, node, token)` (see above).
void take_back(buffer_actor_type* self, uint32_t partition,
               const caf::node_id& node, uint64_t token);

} // namespace supercache::detail
