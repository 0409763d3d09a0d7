#pragma once

/// The copies a producer's buffers took back after `connect`: partitions of
/// a cache node that restarted and rejoined (actors/buffer_takeback.hpp).
/// The buffers add them; the instance's reads (and writes, once no copy it
/// connected to answers) and its cluster stats use them. Shared by one
/// instance's buffers and its cache view; any thread.

#include <cstddef>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <caf/actor.hpp>

namespace supercache {

/// Partition actors and fronts of rejoined nodes, by node (`HOST:PORT`).
class rejoined_copies {
public:
  /// A copy of one partition on a rejoined node.
  struct copy {
    size_t partition;
    std::string node;
    caf::actor hdl;
  };

  /// Records that partition `p` on `node` is `hdl` now, and the node's
  /// front is `front`; a later call for the same partition and node
  /// replaces the earlier one (the node restarted again).
  void add(size_t p, const std::string& node, caf::actor hdl,
           caf::actor front) {
    std::lock_guard<std::mutex> guard{mtx_};
    for (auto& x : copies_)
      if (x.partition == p && x.node == node) {
        x.hdl = std::move(hdl);
        set_front(node, std::move(front));
        return;
      }
    copies_.push_back({p, node, std::move(hdl)});
    set_front(node, std::move(front));
  }

  /// Returns the rejoined copies of partition `p`.
  std::vector<copy> of(size_t p) const {
    std::lock_guard<std::mutex> guard{mtx_};
    std::vector<copy> result;
    for (auto& x : copies_)
      if (x.partition == p)
        result.push_back(x);
    return result;
  }

  /// Returns the front of rejoined `node`, or null.
  caf::actor front(const std::string& node) const {
    std::lock_guard<std::mutex> guard{mtx_};
    for (auto& x : fronts_)
      if (x.first == node)
        return x.second;
    return nullptr;
  }

private:
  void set_front(const std::string& node, caf::actor front) {
    for (auto& x : fronts_)
      if (x.first == node) {
        x.second = std::move(front);
        return;
      }
    fronts_.emplace_back(node, std::move(front));
  }

  mutable std::mutex mtx_;
  std::vector<copy> copies_;
  std::vector<std::pair<std::string, caf::actor>> fronts_;
};

} // namespace supercache
