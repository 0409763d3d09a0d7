#pragma once

/// The nodes that may write to a cache node configured with its place in a
/// cluster (`options::remote` on the publishing instance).
///
/// Such a node refuses every producer that places it elsewhere (the front,
/// actors/front.hpp). This is the other half: a peer that never stated a
/// place at all (`(cluster_atom, desc)`) cannot write either. A node is
/// let in when it states this node's place to the front, or when a leader
/// this node follows vouches for it (a producer taking a rejoined copy
/// back, actors/cache_follow.hpp). The partitions ask `admits` before they
/// store what a node sent: stream batches, `put`, `erase`, `clear`.
///
/// Open (every node may write) unless `reset` closed it: on a node started without
/// its place, which learns it from the first producer, and on one that
/// takes producers listing it alone without a place (as before clusters).
///
/// Holds at most `max_placed_peers` nodes; past that the node let in
/// longest ago is forgotten (logged): producers that restart get new node
/// ids, and CAF 0.17 does not tell a node that another went away.
///
/// Thread-safe: the front and every partition share one.

#include <atomic>
#include <cstddef>
#include <deque>
#include <mutex>
#include <set>

#include <caf/node_id.hpp>

namespace supercache {

/// The most nodes a closed gate remembers.
constexpr size_t max_placed_peers = 65536;

/// The nodes that may write here (see the file comment).
class placed_peers {
public:
  /// Forgets every node let in (a node published again) and, if `closed`,
  /// admits only nodes let in from now on; otherwise every node.
  void reset(bool closed);

  /// Returns whether the gate admits only nodes let in.
  bool closed() const noexcept {
    return closed_.load(std::memory_order_acquire);
  }

  /// Lets `node` write from now on.
  void let_in(const caf::node_id& node);

  /// Returns whether `node` may write: always while open; once closed, a
  /// node let in (never none: an anonymous peer).
  bool admits(const caf::node_id& node) const;

private:
  std::atomic<bool> closed_{false};
  mutable std::mutex mtx_;
  std::set<caf::node_id> nodes_;
  /// `nodes_` in the order they were let in.
  std::deque<caf::node_id> order_;
};

} // namespace supercache
