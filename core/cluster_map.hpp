#pragma once

/// The cluster map: which cache nodes hold which partitions.
///
/// A producer connected to `N` cache nodes (`supercache.remote =
/// "HOST:PORT,HOST:PORT,..."`, in that order) with `replicas = R` places
/// partition `p` (0-based) on the nodes `p % N, (p + 1) % N, ...,
/// (p + R - 1) % N`, the first of them its primary. Every producer given the
/// same list computes the same map; the map depends on nothing else (not
/// on which nodes answer), so that a node that goes away and comes back
/// holds the same partitions.

#include <cstddef>
#include <string>
#include <vector>

namespace supercache {

/// The placement of `partitions` partitions on `nodes` nodes, `replicas`
/// copies each.
class cluster_map {
public:
  // -- constructors -----------------------------------------------------------

  /// Requires `1 <= replicas <= nodes`.
  cluster_map(size_t nodes, size_t partitions, size_t replicas);

  // -- properties -------------------------------------------------------------

  size_t nodes() const noexcept {
    return nodes_;
  }

  size_t partitions() const noexcept {
    return partitions_;
  }

  size_t replicas() const noexcept {
    return replicas_;
  }

  /// Returns the nodes (indices into the list) holding partition `p`,
  /// primary first.
  std::vector<size_t> nodes_of(size_t p) const;

  /// Returns the partitions node `n` holds, in ascending order.
  std::vector<size_t> partitions_of(size_t n) const;

  /// Returns a one-line description to compare between peers: the list,
  /// the partitions and the replicas, e.g. `"a:1,b:2 partitions=4
  /// replicas=2"`.
  std::string describe(const std::vector<std::string>& list) const;

  /// Returns the place of node `n` of `list` as a producer tells it, e.g.
  /// `"node 2 of a:1,b:2 partitions=4 replicas=2"`.
  std::string describe_node(size_t n,
                            const std::vector<std::string>& list) const;

private:
  size_t nodes_;
  size_t partitions_;
  size_t replicas_;
};

} // namespace supercache
