#pragma once

/// A cache node's own place in a cluster, as its operator configured it: the
/// `supercache.remote` list its producers get, and which entry of that list
/// the node is. A node that knows it refuses a producer that places it
/// elsewhere, the first one too, and a rejoin that names leaders the map
/// does not (actors/front.hpp). Without it a node learns its place from the
/// first producer.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

namespace supercache {

/// A cache node's configured place in a cluster.
struct cluster_place {
  /// The list, one `HOST:PORT` per node, as written.
  std::vector<std::string> nodes;

  /// This node's entry of `nodes`.
  size_t index = 0;

  /// The partitions of every node and the copies of each.
  size_t partitions = 0;
  size_t replicas = 1;

  /// Finds the entry of `remote` that is the node listening on `host` and
  /// `port`: the entry with that host and port, else the only one with that
  /// port. Returns `errc::invalid_option` naming the list, the host and the
  /// port if no entry or several match, or `replicas` does not fit the list.
  static caf::expected<cluster_place> find(const std::string& remote,
                                           const std::string& host,
                                           uint16_t port, size_t partitions,
                                           size_t replicas);

  /// Returns the place a producer given the same list tells this node,
  /// `"node I of LIST partitions=P replicas=R"` (`cluster_map`).
  std::string description() const;

  /// Checks the leaders of a rejoin (actors/front.hpp): one entry per
  /// partition, naming another node that holds a copy of it by the map for
  /// each partition this node holds, and empty for the others. Returns
  /// `errc::invalid_option` naming the first entry that is not.
  caf::error check_leaders(const std::vector<std::string>& leaders) const;
};

} // namespace supercache
