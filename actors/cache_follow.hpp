#pragma once

/// Rejoin: how a cache partition that restarted empty on a node of a
/// cluster copies a live copy of itself on another node (its leader) and
/// stays in step with it while writes continue.
///
/// **Messages** (see actors/cache.hpp for the partition's others):
/// - `(rejoin_atom, actor leader, node_id direct, timespan timeout)`, from
///   the front of this node only (`front.hpp`): becomes `leader`'s
///   follower: asks it `(follow_atom, direct)` and replies `ok_atom` once
///   its copy arrived, or the error (a timeout after `timeout`).
/// - `(follow_atom, node_id direct)` from a partition of another node: the
///   sender becomes (or stays) this partition's follower. A new follower
///   first gets a copy of every record here, as `(copy_atom, batch)`
///   messages of at most `copy_chunk` records, then the reply `ok_atom`;
///   from then on every record and lazy erase this partition applies from
///   a stream, and every synchronous `put`, `erase` and `clear`, is
///   forwarded to it
///   in the order applied, except what comes from the nodes in its
///   `direct` list: those producers stream to the follower themselves.
///   Later requests of the same follower add nodes to `direct`. At most
///   `max_followers` followers (by node; a new one of a node replaces the
///   old); more are refused with `errc::overloaded`.
/// - `(follow_atom, node_id direct)` from this node's front: a producer on
///   `direct` is about to stream here; a follower relays it to its leader
///   and replies once the leader answered (at once without a leader).
/// - `(copy_atom, std::vector<entry>)`: from the leader only (others are
///   counted as refused): checked like a remote stream batch (partition,
///   owner), then applied and acknowledged, `(copied_atom, n)` to the
///   leader (see **Capacity**).
/// - `(copied_atom, uint64_t n)`: from a follower: it applied `n` more
///   records of what this partition sent it; from any other actor ignored.
/// - `(dropped_atom)`: from the leader only (others are counted as
///   refused): the leader dropped this follower (see **Capacity**).
/// - `(follow_atom, node_id, uint32_t buffer, uint64_t barrier)`: from the
///   leader only (others are counted as refused): the buffer `buffer` of
///   that node handed over at `barrier` (see **Taking back**).
/// - `(vouch_atom, node_id producer)`: from the leader only (others are
///   counted as refused): `producer` takes this follower back, and may
///   write to this node although it never stated this node's place to it
///   (a node configured with its place takes writes only from nodes that
///   did, or that a leader vouched for: core/placed_peers.hpp).
///
/// **Taking back.** A leader tells each buffer on another node that streams
/// to it, is not in a follower's `direct` list and is not on the
/// follower's node, `(follow_atom, partition, follower's node, token)`:
/// when the follower registers, and when such a buffer opens a stream
/// later. Just before, it sends the follower `(vouch_atom, buffer's node)`,
/// so the follower takes that stream: it holds the stream until the
/// leader's word on the hand-over, which comes behind the vouch. The buffer links to the follower's node and hands over
/// (actors/buffer_takeback.hpp): a hand-over entry (`is_handover`, the
/// token in `enqueued_ns`) on its stream here, and first on its new stream
/// to the follower. The leader forwards that stream's records before the
/// hand-over, then sends the follower `(follow_atom, node, buffer,
/// barrier)` and forwards nothing more of the stream. The follower holds a
/// stream that begins with a hand-over until that message arrives (it may
/// come first: kept, at most 4,096), then applies it in order; past
/// `max_held_records` of one stream (a peer may send a hand-over no leader
/// confirms) it applies the stream without waiting, logged once.
///
/// **Order and loss.** One actor takes the copy and registers the follower
/// in one handler, between two batches, so the copy and the forwards
/// after it hold each record once: what a producer not in `direct` wrote
/// reaches the follower through its leader in the order the leader applied
/// it; what a producer in `direct` wrote reaches it straight, and the
/// producer starts streaming only after its node was registered (so none
/// of its records is in the copy). `clear` is forwarded as `(clear_atom)`
/// (a message, not a request: the follower's count is not answered).
///
/// **Capacity.** A follower acknowledges what it applied of the copy and
/// the forwards, `(copied_atom, n)` to its leader after each `copy_atom`.
/// While a follower has more than `max_unacked_forwards` forwarded records
/// (the copy not counted) to acknowledge, the leader grants the buffers
/// that stream to it no credit (CAF's `acquire_credit` of each sink): they
/// hold their records, up to their `max-pending`, until the follower
/// catches up. Synchronous writes have no credit: a follower that has more
/// than `max_unacked_forwards_hard` to acknowledge is dropped at once. So
/// is one past `max_unacked_forwards` that acknowledged nothing for
/// `follower_stall_limit` (stuck, or a peer that never acknowledges),
/// whereupon the streams go on. A dropped follower is told
/// `(dropped_atom)` and logged on both nodes. The copy is built in memory
/// at the leader (one decode and pack per record).
///
/// **Stopping.** A follower whose leader goes away, or drops it, keeps
/// what it has, applies the streams it held (what the leader had not
/// forwarded of them may be missing: logged once) and answers later follow
/// requests at once; a leader monitors its followers and forgets one that
/// goes away (CAF reports the loss of its node as its death).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include <caf/actor.hpp>
#include <caf/make_sink_result.hpp>
#include <caf/stream.hpp>
#include <caf/node_id.hpp>
#include <caf/result.hpp>

#include "actors/cache.hpp"
#include "actors/messages.hpp"

namespace supercache {

/// Records in one `copy_atom` message of a copy.
constexpr size_t copy_chunk = 4096;

/// Followers one partition forwards to at most.
constexpr size_t max_followers = 16;

/// Records forwarded to one follower and not acknowledged yet past which its
/// leader grants its streams no more credit.
constexpr uint64_t max_unacked_forwards = 262'144;

/// Records forwarded to one follower and not acknowledged yet past which it
/// is dropped (synchronous writes have no credit to hold back).
constexpr uint64_t max_unacked_forwards_hard = 4 * max_unacked_forwards;

/// How long a follower past `max_unacked_forwards` may acknowledge nothing
/// before it is dropped.
constexpr std::chrono::seconds follower_stall_limit{5};

/// Returns whether `x` is forwarded: a record or lazy erase that its
/// partition could read.
inline bool is_forwarded(const entry& x) {
  return !is_barrier(x) && !is_refused(x);
}

/// Sends every record of this partition to `hdl` in chunks of `copy_chunk`
/// (`copy_atom`) and returns how many.
uint64_t send_copy(cache_actor_type* self, const caf::actor& hdl);

/// Entries a follower holds of one stream waiting for its leader's word on
/// a hand-over, at most: then it applies the stream without waiting.
constexpr size_t max_held_records = 65536;

/// Forwards the records of `batch` (no barriers, none refused) that came
/// from node `from` on stream `stream` (0: a synchronous call or a copy) to
/// each follower that does not get them straight; at a hand-over for a
/// follower it tells the follower and forwards nothing more of that stream
/// to it. A stream's records go with age 0 (their `enqueued_ns` is the
/// producer's clock); others keep theirs: a copy's age along a chain of
/// followers, 0 for a synchronous write.
void forward(cache_actor_type* self, const caf::node_id& from,
             uint64_t stream, const std::vector<entry>& batch);

/// Sends `(clear_atom)` to each follower that does not get the writes of
/// node `from` straight, in order with the forwards.
void forward_clear(cache_actor_type* self, const caf::node_id& from);

/// Opens the sink of stream `stream` (the `next_stream` id it got) from a
/// buffer: each batch goes to `take_batch`; the buffer gets no credit while
/// `forwards_full`; `fin` runs when the stream closes.
caf::make_sink_result<entry>
attach_partition_sink(cache_actor_type* self, caf::stream<entry> in,
                      uint64_t stream,
                      std::function<void(const caf::error&)> fin);

/// Handles a follower's `(copied_atom, n)`: it applied `n` more records of
/// the copy and the forwards.
void copied(cache_actor_type* self, uint64_t n);

/// Returns whether a follower has more than `max_unacked_forwards` records
/// forwarded and not acknowledged: the partition's streams get no credit
/// then. Drops each such follower that acknowledged nothing for
/// `follower_stall_limit` first.
bool forwards_full(cache_actor_type* self);

/// Forgets follower `who`, which went away (its node too, maybe): nothing
/// more is forwarded to it, and its records to acknowledge hold no stream
/// back.
void follower_gone(cache_actor_type* self, const caf::actor_addr& who);

/// Handles the leader's `(dropped_atom)`: as if the leader went away.
void dropped(cache_actor_type* self);

/// Tells the buffer of `src`, if on another node and not streaming to a
/// follower itself, to take each follower back (see above).
void tell_followers(cache_actor_type* self, const cache_state::source& src);

/// Returns whether the current message comes from this partition's leader;
/// else counts it as refused and logs that `what` was refused.
bool from_leader(cache_actor_type* self, const char* what);

/// Handles `(vouch_atom, producer)`: from the leader only (others are
/// counted as refused), lets node `producer` write here.
void vouch(cache_actor_type* self, const caf::node_id& producer);

/// Applies a batch of stream `stream`, or holds it: a stream that began
/// with a hand-over waits for its leader's word.
void take_batch(cache_actor_type* self, uint64_t stream,
                std::vector<entry>& batch);

/// Handles the leader's `(follow_atom, node, buffer_index, barrier)`.
void handed_over(cache_actor_type* self, const caf::node_id& node,
                 uint32_t buffer_index, uint64_t barrier);

/// Applies every held stream after the leader went away.
void leader_gone(cache_actor_type* self);

/// Handles `(follow_atom, direct)` (see above).
caf::result<caf::ok_atom> follow(cache_actor_type* self,
                                 const caf::node_id& direct);

/// Handles `(rejoin_atom, leader, direct, timeout)` (see above).
caf::result<caf::ok_atom> rejoin(cache_actor_type* self, caf::actor leader,
                                 const caf::node_id& direct,
                                 caf::timespan timeout);

/// Handles `(copy_atom, batch)` (see above).
void apply_copy(cache_actor_type* self, std::vector<entry>& batch);

} // namespace supercache
