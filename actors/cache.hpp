#pragma once

/// A cache partition: the actor that owns one share of the data.
///
/// **Messages.**
/// - `(stream<entry>, uint32_t buffer_index)` handshake, from each buffer,
///   local or on a producer node: a `buffer_index` of `max_registered_id` or
///   more is refused (counted in `refused` of the instance's guard counters,
///   its records in `refused_records`, nothing stored, no barrier
///   answered). Records whose `partition` is not this partition's index
///   are refused and counted in `refused_records`; so are records of a
///   stream from another node whose own partition element picks another of
///   the `partitions` partitions, or whose header's key slice is not their
///   key element (`check_owner`: read off the bytes of a canonical record,
///   decoded otherwise; local buffers' records are not checked). The rest of their batch is stored.
///   On a node configured with its place in a cluster, every record of a
///   stream from a node that may not write here (it never stated that
///   place, and no leader vouched for it: core/placed_peers.hpp) is
///   refused the same way, counted in `refused_records`; its barriers are
///   still answered.
///   Opens one stream sink per buffer; every batch is applied in arrival
///   order under one write lock. For a buffer of this node, the records
///   processed are counted in the ledger of that stream (`counter_board`:
///   one per buffer and partition actor, so what died with a partition is
///   told apart per stream; a remote producer's stream has none).
///   A barrier entry in a batch is answered with `(flushed_atom, id)` to the
///   buffer that opened the stream, after every record before it is stored
///   and once no older stream of the same buffer slot (node and index) is
///   open (see **Failure**).
/// - `(put_atom, record)`, from `instance::put` of a remote producer or any
///   actor: stores the record synchronously; replies `ok_atom`, or
///   `errc::invalid_record` (also for a record whose partition element picks
///   another partition). (A local `instance::put` writes into the table
///   itself, under its write lock, without a message.)
/// - `(put_atom, std::vector<record>)`, from `instance::put_batch` of a
///   remote producer or any actor: validates every record, then stores all
///   under one lock and replies `ok_atom`; one bad record stores none and
///   the `errc::invalid_record` names its index.
/// - `(get_atom, record pattern)`, from any actor: replies the records of this
///   partition whose key equals the pattern's key (`std::vector<record>`), or
///   `errc::invalid_record`; `errc::too_large` past `max_reply_bytes`.
/// - `(erase_atom, record pattern)`, from `instance::erase` of a producer
///   node or any actor: removes the records of this partition under the
///   pattern's key (all of them in a `bag`); replies how many
///   (`uint64_t`), or `errc::invalid_record` (checked as `get`'s pattern).
/// - `(match_atom, record pattern)`, from `instance::match`/`for_each` of a
///   producer node or any actor: replies this partition's records that
///   match (core/pattern.hpp; `[]` matches all) as `std::vector<record>`,
///   from a consistent snapshot, or `errc::invalid_record` (not an array,
///   too deep). The whole answer is one message, of at most
///   `max_reply_bytes` of records (their MessagePack bytes): a larger one
///   is refused with `errc::too_large` naming the limit, since CAF 0.17 has
///   no maximum message size and the requester (a producer node) would
///   decode all of it into memory at once.
/// - `(clear_atom)`, from `instance::clear` of a producer node or any
///   actor: removes every record; replies how many (`uint64_t`).
/// - On a node configured with its place, each synchronous write (`put`,
///   the batch `put`, `erase`, `clear`) from a node that may not write here
///   is refused with `errc::invalid_option` and counted in `refused`, before
///   anything else is checked.
/// - Lazy erases arrive as `entry`s with `erase` set in the streams and are
///   applied in stream order with the records around them.
/// - `(size_atom)`, from any actor: replies the number of records (`uint64_t`).
/// - `(stats_atom)`, from any actor: replies records, bytes, batches,
///   batched_records, expired and evicted as JSON.
/// - `(rejoin_atom, ...)`, `(follow_atom, ...)`, `(copy_atom, ...)`: a
///   partition of a node that restarted empty in a cluster copies a live
///   copy on another node and follows it (actors/cache_follow.hpp); a
///   leader forwards what it applies to its followers.
/// - `(copied_atom, uint64_t)` from a follower, `(dropped_atom)` from the
///   leader: the credit of the forwards (actors/cache_follow.hpp).
/// - `(vouch_atom, node_id)`: from the leader only: lets a producer's node
///   that takes this follower back write here (actors/cache_follow.hpp).
/// - `(reclaim_atom)`, from itself only (others' are ignored): with a `ttl`,
///   a timer every `table::reclaim_period()` (ttl/8, 1 ms..1 s) that removes
///   expired records, at most 4096 write-order entries per message; if more
///   are due it sends itself the next one at once, behind its inbox.
///
/// - Exits from other nodes are refused, unexpected messages counted and
///   logged to stderr (`guarded_actor`, actors/remote_guard.hpp).
///
/// **Reads and writes without messages.** The partition's `table` is shared
/// with `instance::get`/`size`/`match`/`for_each`, which read it under a
/// shared lock from any thread, and with a local `instance::put`/`put_batch`/
/// `erase`/`clear`, which write it under its exclusive lock from the caller's
/// thread: the actor is not the table's only writer.
///
/// **Order and loss.** Records of one stream are applied in the order the
/// buffer sent them (CAF delivers a path's batches in order). A record that
/// reached a sink is stored, or, if its insertion throws, counted as failed
/// by the table (logged once) while the rest of its batch is stored. A
/// record that failed to store, or arrived undecodable or refused
/// (`is_refused`), is counted as processed but not stored, and reported to
/// its buffer with `(refused_atom, n)` (counted there as lost), before the
/// acknowledgment of any barrier behind it.
///
/// **Failure.** A partition that dies (an exit, an exception) is restarted
/// by the supervisor with an empty table: the records it stored are gone and
/// counted as `lost_stored`; buffers keep the records they still hold and
/// reopen their streams to the new partition; what local buffers shipped
/// to it and it never processed is counted as `lost` (by a live buffer
/// when it learns of the death, by the supervisor for a dead one).
///
/// A buffer that dies is replaced under the same index, and its stream here
/// stays open until CAF closes it behind the last batch the dead buffer
/// shipped (`partitioned_output::abort`). Until then the partition holds
/// back the acknowledgments of barriers on newer streams of that index, so
/// a flush through the replacement answers only once every record the dead
/// buffer shipped to this partition is stored.
///
/// **Capacity.** While a follower has too many forwarded records to
/// acknowledge, the partition grants its streams no credit
/// (actors/cache_follow.hpp). The table grows with the data, up to `max-records` if set
/// (then the least recently written record is evicted). Its inbox is bounded by the
/// buffers: a local buffer's records count against its `max-pending` until
/// this partition has processed them (the partition advances the buffer's
/// `processed` counter in the shared `counter_board` per batch).
///
/// **Stopping.** `instance::stop` sends an exit with `user_shutdown` after
/// the buffers are gone, so no stream is open any more; the partition then
/// terminates at once.

#include <chrono>
#include <cstdint>
#include <memory>
#include <map>
#include <utility>
#include <vector>

#include <caf/actor.hpp>
#include <caf/node_id.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/remote_guard.hpp"
#include "core/buffer_counters.hpp"
#include "core/table.hpp"

namespace supercache {

/// State of a cache partition actor.
struct cache_state {
  /// A buffer slot: the node of the buffer and its index there. A replaced
  /// buffer keeps its slot; buffers of different nodes (remote producers,
  /// see `connect`) never share one.
  using buffer_slot = std::pair<caf::node_id, uint32_t>;

  /// A barrier acknowledgment held back until no older stream of the same
  /// buffer slot is open.
  struct held_ack {
    buffer_slot slot;
    uint64_t stream;
    caf::actor upstream;
    uint64_t barrier;
  };

  /// This partition's index (0-based): records for another one are refused.
  uint32_t index = 0;

  /// The number of partitions of the cache, to check which partition a
  /// record from another node belongs to.
  uint32_t partitions = 1;

  /// The partition's records, shared with readers on other threads.
  std::shared_ptr<table> data;

  /// Id of the next stream this partition accepts (ids only increase).
  uint64_t next_stream = 1;

  /// Ids of the open streams by buffer slot, oldest first.
  std::map<buffer_slot, std::vector<uint64_t>> open;

  /// Acknowledgments held back, in the order their barriers arrived.
  std::vector<held_ack> held;

  /// A buffer's open stream, as each of its batches is applied.
  struct source {
    buffer_slot slot;
    uint64_t stream = 0;
    caf::actor upstream;
    /// The stream's ledger (a local buffer's), or null.
    std::shared_ptr<stream_ledger> ledger;
    /// Whether the buffer is on another node (its records are checked).
    bool remote = false;
    /// Whether a batch arrived yet.
    bool started = false;
  };

  /// The open streams by id: a leader tells their buffers on other nodes
  /// about a new follower (actors/cache_follow.hpp).
  std::map<uint64_t, source> sources;

  /// A stream that began with a hand-over (`is_handover`): its batches wait
  /// until the leader reports that it forwarded everything the buffer sent
  /// it before (or the leader goes away).
  struct held_stream {
    source from;
    uint64_t barrier = 0;
    std::vector<std::vector<entry>> batches;
    /// Entries in `batches`.
    size_t records = 0;
  };

  /// Held streams by id.
  std::map<uint64_t, held_stream> holding;

  /// Hand-overs the leader reported before their stream's first batch:
  /// the buffer slot and the barrier id.
  std::vector<std::pair<buffer_slot, uint64_t>> handed;

  /// A partition on another node that copied this one and gets what it
  /// applies (rejoin, actors/cache_follow.hpp).
  struct follower {
    caf::actor hdl;
    /// Nodes of producers that stream to the follower themselves.
    std::vector<caf::node_id> direct;
    /// Streams here whose buffer streams to the follower itself since a
    /// hand-over.
    std::vector<uint64_t> direct_streams;
    /// Names the follower in hand-overs (`entry::enqueued_ns`).
    uint64_t token = 0;
    /// Records of the copy sent to it and not acknowledged yet.
    uint64_t copy_unacked = 0;
    /// Records forwarded to it after the copy and not acknowledged yet.
    uint64_t unacked = 0;
    /// When it last acknowledged records (`copied_atom`), or registered.
    std::chrono::steady_clock::time_point last_ack;
  };

  /// The token of the next follower.
  uint64_t next_token = 1;

  /// The followers of this partition, at most `max_followers`.
  std::vector<follower> followers;

  /// The copy on another node this partition copied after a restart, or
  /// null: only its `copy_atom` messages are applied.
  caf::actor leader;

  /// How long a request to the leader may take.
  caf::timespan follow_timeout{std::chrono::seconds(30)};

  /// Counters of the local buffers by index and the stream ledgers, or
  /// null: the partition advances `processed` of a local buffer, and of its
  /// stream's ledger, by each batch it applies.
  std::shared_ptr<counter_board> board;

  static inline const char* name = "supercache.cache";
};

/// The most bytes of records (MessagePack, as they travel) a partition puts
/// into one reply to `get_atom` or `match_atom`: 64 MiB, about 3M records of
/// the benchmark's workload. `instance::match` and `for_each` of a remote
/// cache fail with `errc::too_large` beyond it.
constexpr size_t max_reply_bytes = size_t{64} << 20;

/// A cache partition actor.
using cache_actor_type = caf::stateful_actor<cache_state, guarded_actor>;

/// Applies one batch of stream `from` (checks, stores, counts, answers its
/// barriers); internal to the partition.
void apply_stream_batch(cache_actor_type* self, const cache_state::source& from,
                        std::vector<entry>& batch);

/// Returns the behavior of cache partition `index` of `partitions` that owns
/// `data`, counts the records it processed of each local buffer into `board`
/// (if any) and what its guard refuses into `guards` (its instance's
/// counters; null: its own).
caf::behavior cache_actor(cache_actor_type* self, uint32_t index,
                          uint32_t partitions, std::shared_ptr<table> data,
                          std::shared_ptr<counter_board> board,
                          guard_counters_ptr guards);


} // namespace supercache
