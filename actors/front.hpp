#pragma once

/// The front of a published cache: the one actor a cache node publishes over
/// CAF's network layer (caf_io, BASP) for producer nodes to connect to.
///
/// Every running instance has one, registered as `supercache`
/// (`instance::front_name()`); `publish` also publishes it.
///
/// **Messages.** All from any actor, usually a remote `supercache::connect`:
/// - `(flush_atom)`: flushes every buffer of the instance; replies `ok_atom`
///   once all answered, or the first error (`not_started` without buffers,
///   a request timeout after `call-timeout`). Never blocks: the answers come
///   as messages.
/// - `(get_atom)`: replies `(std::vector<caf::actor> partitions, record
///   settings)`: the partition actors by index (proxies on the remote side,
///   to which buffers open their streams) and `{"key-pos", "partition-pos",
///   "table-type"}`, so that a producer computes the same partitions, with
///   `"place"` (the description below) if the node was started with its
///   place: a producer that lists only this node and places it elsewhere
///   then only reads from it (instance/cluster.cpp).
/// - `(cluster_atom, std::string desc)`: a producer's `connect` to a cluster
///   tells the node its place, `"node I of LIST partitions=P replicas=R"`.
///   The first description (1..`max_cluster_description` bytes) is kept
///   and answered `ok_atom`; a later one must equal it, else it is refused
///   with `errc::invalid_option` naming both, so producers that disagree
///   about the map cannot both write to this node. A node configured with
///   its place (`hooks.place`: `options::remote` on the publishing
///   instance) refuses any other description, the first one too, and lets
///   the sender's node write (its partitions take writes only from nodes
///   let in: core/placed_peers.hpp).
///   Before answering, each partition that copied a leader (rejoin) has
///   its leader forward nothing more of the producer's node, which streams
///   here itself from then on (answered once every leader did).
/// - `(rejoin_atom, std::string desc, std::vector<std::string> leaders)`,
///   from a producer's `connect` that found this node restarted empty in a
///   running cluster: only while the node has no place (else
///   `invalid_option`); `leaders` has one entry per partition, the node
///   (`HOST:PORT`) of a live copy, or empty for a partition this node does
///   not hold. The front connects to each of those nodes itself (through
///   `connector`), so the copy and what the leader forwards later do not
///   depend on the producer's links, takes the leaders from their fronts
///   (`get_atom`), and has each partition copy and follow its leader
///   (actors/cache_follow.hpp); once all did, the node takes `desc` as its
///   place and answers `ok_atom` (or the first error, e.g. a timeout after
///   `call-timeout`). One rejoin at a time: a request for the same place
///   while one runs starts no second copy (its leaders may differ; a copy
///   over a copy would give a `bag` duplicates) and gets the running one's
///   answer; one for another place is refused naming both. A peer can ask this only of a node without a place,
///   and only for nodes that accept this node's links (with TLS, holders
///   of the CA's certificates). A node configured with its place takes
///   only that place, and only leaders that hold another copy of each of
///   its partitions by the map (`cluster_place::check_leaders`).
/// - `(cluster_atom)`: replies `(std::string place, uint64_t records)`: the
///   place kept (empty if none yet) and the records held, so that a
///   producer tells a node that restarted empty in a running cluster from
///   a new one.
/// - `(size_atom)`: replies the records in all partitions (`uint64_t`).
/// - `(stats_atom)`: replies the cache's `supercache::stats()` (`record`).
///
/// Exits from other nodes are refused, unexpected messages counted and
/// logged to stderr (`guarded_actor`): a peer cannot close the port.
///
/// **Order and loss.** The front holds no records: producers stream straight
/// to the partitions, and the cache's own guarantees apply.
///
/// **Capacity.** None of its own; each request is answered at once, but a
/// flush, which waits for the buffers' answers as messages (never blocking)
/// for at most `call-timeout`.
///
/// **Stopping.** `instance::stop` terminates it (and so closes the port)
/// before the partitions; producers then see their partitions go away.

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include <caf/actor.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/expected.hpp>
#include <caf/timespan.hpp>

#include <supercache/record.hpp>

#include "actors/remote_guard.hpp"
#include "core/cluster_place.hpp"

namespace supercache {

/// The longest cluster description a front accepts.
constexpr size_t max_cluster_description = 64 * 1024;

/// What a front asks of the running cache.
struct front_hooks {
  /// Returns the current partitions (restarts replace them).
  std::function<std::vector<caf::actor>()> partitions;

  /// Returns the running buffers (none while they stop or restart).
  std::function<std::vector<caf::actor>()> buffers;

  /// How long a flush waits for each buffer.
  caf::timespan call_timeout{std::chrono::seconds(30)};

  /// Returns `{"key-pos", "partition-pos", "table-type"}`.
  std::function<record()> settings;

  /// Returns the records in all partitions.
  std::function<caf::expected<size_t>()> size;

  /// Returns the cache's metrics.
  std::function<caf::expected<record>()> stats;

  /// The instance's guard counters (`guarded_actor::count_into`).
  guard_counters_ptr guards;

  /// Returns the actor that opens links to other nodes (CAF's middleman
  /// actor, or the openssl manager's with TLS), or why there is none.
  std::function<caf::expected<caf::actor>()> connector;

  /// Returns this node's configured place in its cluster, or null (it
  /// learns its place from the first producer).
  std::function<std::shared_ptr<const cluster_place>()> place;
};

/// Returns the behavior of a front that answers with `hooks`.
caf::behavior front_actor(guarded_actor* self, front_hooks hooks);

} // namespace supercache
