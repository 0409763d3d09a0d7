#pragma once

/// A buffer: the actor whose mailbox queues records on their way to the cache.
///
/// **Messages.**
/// - `(entry)`, from `instance::lazy_put` and `instance::lazy_erase`
///   (already validated and admitted, with its partition computed on the
///   producer's thread): queued; no reply. A lazy erase (`entry::erase`)
///   is one more queued entry: streamed in order with the records, counted
///   like one (and dropped like one under `drop-oldest`). Local only: one from another node, a barrier, or one whose
///   partition index is out of range is refused and counted
///   (`refused` of its instance's guard counters, actors/remote_guard.hpp).
/// - `(put_atom, record)`, from any actor (by registry name `buffer_N`):
///   validated and queued; replies `ok_atom`, `errc::invalid_record`,
///   `errc::overloaded` (at `max-pending` under `block` or `reject`: an actor
///   is never blocked), or `errc::not_started` once the buffer is stopping.
/// - `(flush_atom)`, from `flush` or any actor: replies `ok_atom` once every
///   record this buffer received before it is visible in the cache.
/// - `(stop_atom)`, from the instance's stop: drains like a flush, replies
///   `ok_atom`, then terminates. Local only (refused with
///   `caf::sec::unexpected_message` from another node).
/// - `(flushed_atom, id)`, from the cache partitions: barrier acknowledgments;
///   from any other actor ignored and counted as refused.
/// - `(refused_atom, uint64_t n)`, from the cache partitions (of this
///   buffer only): `n` records arrived undecodable (or for another
///   partition) and were refused, or failed to store (their insertion
///   threw); counted as `lost`, before the
///   acknowledgment of any barrier behind them.
/// - `(stats_atom)`, from any actor: replies its counters as JSON.
/// - `(follow_atom, uint32_t partition, node_id, uint64_t token)`, from a
///   remote lane of `partition` only: a copy of the partition on that node
///   restarted and copied the sender (rejoin); the buffer takes it back as
///   a lane (actors/buffer_takeback.hpp). No reply.
/// - `(reopen_atom, uint32_t partition, actor)`, from the instance's
///   supervisor: partition `partition` was restarted as `actor`. Local only.
/// - Exits from other nodes are refused, unexpected messages counted (in
///   `buffer_settings::guards`, the instance's counters) and logged to
///   stderr (`guarded_actor`).
///
/// **Streaming.** A continuous stream stage with one outbound path per cache
/// partition (`partitioned_output`) carries records in batches; batch size and
/// delay follow CAF's `stream.*` settings. A flush pushes a barrier behind the
/// queued records on every path and answers when every partition has
/// acknowledged it: CAF delivers a path's batches in order, so the barrier
/// arrives after the records before it.
///
/// **Order and loss.** Records from one sender are streamed in the order they
/// arrived; each goes to exactly one partition. When a partition dies, the
/// records still queued for it stay in the stage and go to its replacement
/// (`reopen_atom`); records that were in flight to it and not processed are
/// counted as `lost` as soon as the buffer learns of the death (each stream
/// has a ledger of shipped and processed records, `counter_board`); pending
/// flushes send their barrier again to the replacement and complete once it
/// acknowledges. A path never reuses the stream slot of an earlier one, so
/// the stream messages a dead partition sent before it died (a late
/// handshake answer, its `forced_drop`) cannot end or stall its
/// replacement's path.
///
/// **Death.** A buffer that dies (an exception, a kill) is replaced by the
/// supervisor under its name and index (`instance/buffers.cpp`,
/// `restart_buffer`); producers see `not_started` meanwhile. The records it
/// held (in its mailbox or stage, not shipped) are counted as `lost`; the
/// batches it had shipped are stored: its streams end with the close CAF
/// sends when it terminates, behind those batches (`partitioned_output::
/// abort` sends none of its own), and a partition acknowledges barriers of
/// the replacement only after that close (`cache.hpp`). Batches whose
/// partition died, or dies, before processing them are counted as `lost`
/// by the supervisor (`counter_board::buffer_gone`). A flush the buffer
/// had accepted before it died is never answered by it (CAF 0.17 drops the
/// promise silently): `instance::flush` watches the buffer and asks its
/// replacement; an actor's request ends with its own timeout.
///
/// **Capacity.** At most `max-pending` records (plus one per producer
/// thread racing for the last slot) are accepted and not yet stored: the
/// partitions advance `counters->processed` as they apply this buffer's
/// batches, and the one admission function (`core/admission.hpp`) checks
/// `counters->pending()` before a record is taken, on the producer's thread
/// for `lazy_put` and here for `put_atom`. At the bound, `reject` and
/// `block` refuse with `overloaded` (`lazy_put` on an ordinary thread first
/// waits up to `block-timeout` under `block`; on a scheduler worker and
/// here nothing waits). Under `drop-oldest` every record is accepted; while
/// more than `max-pending` are pending, the buffer drops the oldest queued
/// records of the same partition (the excess and an eighth of that queue,
/// in one pass), or the new record if none is queued; at twice the bound a
/// producer thread waits and a worker (or this handler) drops the new
/// record. Dropped records are counted and never reported as stored.
///
/// **Remote cache.** With partitions on another node (`connect`), a
/// partition that goes away (the node died, the connection broke) cannot be
/// restarted from here: the buffer sets `failure` (`errc::unreachable`,
/// naming the partition and the reason), answers every pending and later
/// flush, stop and `put_atom` with it, sets `counters->unreachable` so that
/// `lazy_put` fails at once, and counts the records it still held, and every
/// record that arrives afterwards, as `lost`. Records already shipped are
/// neither counted stored nor lost here: ask the cache node.
///
/// **Replicas.** In a cluster with `replicas >= 2` every partition has that
/// many lanes, one stream to each copy (`buffer_settings::lane_partition`):
/// each record is queued on every live lane of its partition, in the same
/// order, and counts as written once every live lane shipped it; a flush
/// waits for every live lane's acknowledgment. A lane whose partition went
/// away (its node died) is retired while another lane of the partition
/// lives: its queue is dropped (the other copies hold the same records),
/// pending flushes stop waiting for it, `replicas_lost` counts it and the
/// node's loss is logged once to stderr. A copy that comes back takes the
/// retired lane again (actors/buffer_takeback.hpp), so a partition never
/// has more lanes than copies. Losing the last lane of a
/// partition gives up as above, naming the partition and its nodes.
///
/// **Stopping.** On `(stop_atom)` the buffer answers further `put_atom`s with
/// `not_started`, drains, replies and quits; the close CAF sends when it
/// terminates ends its streams at the partitions. The instance's stop makes
/// sure no `lazy_put` is still sending, and kills a buffer that has not
/// drained by `call-timeout` (what it held is counted as `lost`).

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/node_id.hpp>
#include <caf/response_promise.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/stream_stage.hpp>

#include "core/buffer_counters.hpp"
#include "core/rejoined.hpp"
#include "actors/messages.hpp"
#include "actors/partitioned_output.hpp"
#include "actors/remote_guard.hpp"
#include <supercache/record.hpp>
#include <supercache/options.hpp>

namespace supercache {

/// How a buffer treats its records: layout, bound and overflow policy.
struct buffer_settings {
  /// Where records keep their key and partition element.
  record_layout layout;

  /// Records the buffer may hold before `overflow` applies.
  size_t max_pending = options{}.max_pending;

  /// What happens at `max_pending`.
  overflow_policy overflow = options{}.overflow;

  /// Counters shared with producers and `stats()`; created if null.
  std::shared_ptr<buffer_counters> counters;

  /// Index of this buffer (0-based), sent to the partitions in the stream
  /// handshake so that they count processed records per buffer and order
  /// a replacement behind the buffer it replaces: at most one live buffer
  /// per node and index may stream into a partition (buffers of other
  /// nodes, see `connect`, are told apart by their node).
  uint32_t index = 0;

  /// Whether the partitions live on a remote node (`supercache::connect`):
  /// one that goes away is not restarted, so the buffer gives up (see
  /// **Remote cache** above).
  bool remote = false;

  /// The instance's counters and stream ledgers, shared with the local
  /// partitions; null for a remote cache (and in tests of a lone buffer):
  /// then records in flight to a partition that dies are not counted.
  std::shared_ptr<counter_board> board;

  /// The instance's guard counters (`guarded_actor::count_into`); null in
  /// tests of a lone buffer (it counts into its own).
  guard_counters_ptr guards;

  /// For a cluster with replicas: the partition of each actor the buffer
  /// streams to (its lanes, one per copy of a partition), and the node of
  /// each lane (`HOST:PORT`, for messages). Empty: actor `i` is partition
  /// `i`, one copy each.
  std::vector<uint32_t> lane_partition;
  std::vector<std::string> lane_node;

  /// For a cluster: the nodes (`HOST:PORT`) of every copy of each
  /// partition by the map, live or not, so that a copy that restarted and
  /// rejoined can be taken back (actors/buffer_takeback.hpp).
  std::vector<std::vector<std::string>> homes;

  /// The actor that opens links to other nodes (CAF's middleman actor, or
  /// the openssl manager's with TLS); null: rejoined copies are not taken
  /// back.
  caf::actor connector;

  /// Where a take-back records the copy (for the instance's reads), or
  /// null.
  std::shared_ptr<rejoined_copies> rejoined;

  /// How long each request of a take-back may take.
  caf::timespan call_timeout{std::chrono::seconds(30)};
};

/// Lost nodes a buffer remembers having logged, at most.
constexpr size_t max_lost_nodes = 64;

/// State of a buffer actor.
struct buffer_state {
  /// Downstream manager of the stage: one queue and path per partition.
  using output = partitioned_output<entry>;

  /// A flush waiting for the acknowledgments of its barrier.
  struct pending_flush {
    /// Partitions that have not acknowledged the barrier yet.
    size_t acks_left = 0;

    /// Which partitions acknowledged it (a barrier is sent again to a
    /// restarted partition, and a second acknowledgment is ignored).
    std::vector<bool> acked;

    /// The request to answer once the barrier is acknowledged.
    caf::response_promise reply;

    /// Whether the buffer terminates after answering.
    bool stop = false;
  };

  /// The stream stage that carries records to the partitions.
  caf::stream_stage_ptr<entry, output> stage;

  /// The actors the buffer streams to, by lane: the cache partitions by
  /// index, or with replicas every copy of each (`lanes_of`); null once
  /// gone.
  std::vector<caf::actor> partitions;

  /// The lanes of each partition (one each without replicas).
  std::vector<std::vector<size_t>> lanes_of;

  /// The nodes whose loss was logged (once each), the last
  /// `max_lost_nodes` of them.
  std::vector<caf::node_id> lost_nodes;

  /// Layout, bound, overflow policy and counters.
  buffer_settings settings;

  /// Id of the next barrier.
  uint64_t next_barrier = 1;

  /// Flushes waiting for acknowledgments, by barrier id.
  std::unordered_map<uint64_t, pending_flush> flushes;

  /// Set by `stop_atom`: the buffer takes no more `put_atom`s.
  bool stopping = false;

  /// Set once a stop completed and the buffer quit.
  bool quitting = false;

  /// The ledger of the stream to each partition (null without a board).
  std::vector<std::shared_ptr<stream_ledger>> ledgers;

  /// A slot no path uses, one above the newest path's, registered for the
  /// stage so that CAF never gives a path the slot of an earlier one (see
  /// `open_path` in buffer.cpp); `invalid_stream_slot` before the first.
  caf::stream_slot reserved_slot = caf::invalid_stream_slot;

  /// Set once a remote partition went away: every later request fails with
  /// it (`errc::unreachable`).
  caf::error failure;

  /// Take-backs in progress: the partition and the node of its new copy.
  std::vector<std::pair<uint32_t, caf::node_id>> taking_back;

  static inline const char* name = "supercache.buffer";
};

/// Returns the counters of a buffer as JSON: enqueued, written, rejected,
/// dropped, pending, batches, avg_batch.
nlohmann::json to_json(const buffer_counters& x);

/// A buffer actor.
using buffer_actor_type = caf::stateful_actor<buffer_state, guarded_actor>;

/// Returns the behavior of a buffer streaming into `partitions`.
caf::behavior buffer_actor(buffer_actor_type* self,
                           std::vector<caf::actor> partitions,
                           buffer_settings settings);



} // namespace supercache
