#pragma once

/// What a remote peer may make our actors do: the checks every actor applies
/// to a message before it uses it.
///
/// CAF 0.17 has no access control: any process that completes the BASP
/// handshake can look up every registered actor (`remote_lookup` through
/// CAF's "ConfigServ") and send it anything, exits included. So:
/// - `guarded_actor` (the base of the partitions, buffers, supervisor and
///   front) drops an exit message whose sender is on another node *or
///   missing* before CAF sees it (CAF 0.17 quits on `exit_reason::kill`
///   without asking the exit handler, and an anonymous exit from a peer
///   arrives without sender, like a local `anon_send_exit`): local code stops
///   these actors with `send_local_exit` or from an actor
///   (`self->send_exit`). It counts every message no handler matched instead of
///   printing it to stdout (CAF's default handler; stdout is the node's event
///   channel), and every error message it gets without a request waiting
///   for it (CAF's default error handler would quit the actor: a peer could
///   stop a partition with one `caf::error`). Both are counted (`refused`,
///   `unexpected`) in the counters of the actor's instance (handed to it at
///   spawn, `count_into`) and logged to stderr, rate-limited.
/// - A `down_msg` is taken only from the actor it names as source (CAF
///   sends one with the dead actor, or its proxy, as sender; our actors hold
///   what they monitor, so it is there): a peer's forged one is refused.
/// - Handlers of messages only a local actor sends (`entry`, `stop_atom`,
///   `reopen_atom`, `watch_atom`, `retry_atom`) call `refuse_remote` first.
///   A message without sender is taken as local only if it was sent typed
///   (`anon_send(hdl, x...)` builds a `mailbox_element_vals`): CAF's network
///   layer delivers every message as a deserialized `caf::message`, and a
///   peer's anonymous message has no sender either.
/// - Indices in a message are checked against the receiver's own sizes
///   (`check_entry`, `check_batch`, `check_handshake`); a record from
///   another node also against its own bytes (`check_owner`).
///
/// Limit (CAF 0.17, read in caf/io/basp/remote_message_handler.hpp): a peer
/// that writes raw BASP `routed_message`s chooses the source node itself and
/// can name a local actor as the sender, which the node checks here cannot
/// tell apart. Only TLS with client certificates keeps such peers out.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_config.hpp>
#include <caf/exit_reason.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/node_id.hpp>

#include "actors/messages.hpp"
#include "core/placed_peers.hpp"

namespace supercache {

// -- counters -----------------------------------------------------------------

/// What the guards of one instance's actors refused (`stats()` reports
/// them): shared by every guarded actor the instance spawns.
struct guard_counters {
  /// Messages no handler of the receiver matched.
  std::atomic<uint64_t> unexpected{0};

  /// Local-only messages and exits from another node, stream handshakes
  /// with an index out of range, and writes (`put`, `erase`, `clear`) from
  /// a node that may not write here (`placed`).
  std::atomic<uint64_t> refused{0};

  /// Records in a stream from another node whose partition index is not the
  /// receiving partition's, or whose node may not write here (`placed`).
  std::atomic<uint64_t> refused_records{0};

  /// The nodes that may write to the partitions: all, unless this node was
  /// configured with its place in a cluster (core/placed_peers.hpp).
  placed_peers placed;
};

/// Shared counters of one instance's guarded actors.
using guard_counters_ptr = std::shared_ptr<guard_counters>;

/// Logs `what` to stderr: the first 20 lines at once, then at most one line
/// per second with the number of lines it held back.
void log_refused(const std::string& what);

// -- pure checks (shared with the fuzzers) ------------------------------------

/// Returns whether `sender` is an actor of node `self` (false for none).
bool is_local(const caf::strong_actor_ptr& sender, const caf::node_id& self);

/// Sends `hdl` (a local actor) an exit with `reason` that a `guarded_actor`
/// accepts (its sender is `hdl` itself), without an actor of one's own.
void send_local_exit(const caf::actor& hdl, caf::exit_reason reason);

/// Returns whether an `entry` from a local producer can be queued by a buffer
/// with `partitions` partitions: a record needs a partition index below it,
/// and a barrier never arrives this way.
bool check_entry(const entry& x, size_t partitions) noexcept;

/// Blanks (empties) every record of `batch` that is not for partition
/// `partition` and returns how many it blanked; barriers stay.
size_t check_batch(std::vector<entry>& batch, uint32_t partition) noexcept;

/// Blanks every record of `batch` (from another node) that does not belong
/// to partition `partition` of `partitions` by its own bytes, and returns
/// how many it blanked: its partition element must pick `partition` (see
/// `partition_of`) and the key slice of its header must be its key element,
/// both in the encoding a producer writes (`append_msgpack`). Otherwise
/// `get` would never find it. Reads this off the bytes of a canonical
/// record (`scan_canonical`), decodes any other: for remote streams only.
size_t check_owner(std::vector<entry>& batch, uint32_t partition,
                   size_t partitions, const record_layout& layout);

/// Returns whether a partition accepts a stream handshake with
/// `buffer_index`: any index a node may give a buffer (below
/// `max_registered_id`).
bool check_handshake(uint32_t buffer_index) noexcept;

// -- guarded actors -----------------------------------------------------------

/// An event-based actor that refuses exits from other nodes and counts
/// unexpected messages instead of printing them (see the file comment).
class guarded_actor : public caf::event_based_actor {
public:
  using super = caf::event_based_actor;

  explicit guarded_actor(caf::actor_config& cfg);

  /// Counts into `x` (its instance's counters) from now on; an actor that
  /// gets none counts into counters of its own. Call it first thing in the
  /// behavior function, before any message arrives.
  void count_into(guard_counters_ptr x);

  /// Returns the counters this actor counts into.
  guard_counters& guards() noexcept {
    return *guards_;
  }

  caf::invoke_message_result consume(caf::mailbox_element& x) override;

  /// Returns whether the current message comes from an actor of this node,
  /// or was sent anonymously and typed on this node (see the file comment).
  bool sender_is_local();

  /// Counts and logs the current message as refused if its sender is not on
  /// this node (`what` names it) and returns whether it did.
  bool refuse_remote(const char* what);

private:
  guard_counters_ptr guards_ = std::make_shared<guard_counters>();
};

} // namespace supercache
