#include "core/placed_peers.hpp"

#include <cstdio>

namespace supercache {

void placed_peers::reset(bool closed) {
  std::lock_guard<std::mutex> guard{mtx_};
  closed_.store(closed, std::memory_order_release);
  nodes_.clear();
  order_.clear();
}

void placed_peers::let_in(const caf::node_id& node) {
  if (node == caf::node_id{})
    return;
  std::lock_guard<std::mutex> guard{mtx_};
  if (!nodes_.insert(node).second)
    return;
  order_.push_back(node);
  if (order_.size() > max_placed_peers) {
    static std::once_flag logged;
    std::call_once(logged, [] {
      std::fprintf(stderr,
                   "supercache: more than %zu nodes stated this cache node's "
                   "place; the one let in longest ago is forgotten each time "
                   "(its writes are refused until it connects again)\n",
                   max_placed_peers);
    });
    nodes_.erase(order_.front());
    order_.pop_front();
  }
}

bool placed_peers::admits(const caf::node_id& node) const {
  if (!closed())
    return true;
  if (node == caf::node_id{})
    return false;
  std::lock_guard<std::mutex> guard{mtx_};
  return nodes_.count(node) > 0;
}

} // namespace supercache
