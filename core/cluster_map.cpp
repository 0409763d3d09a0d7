#include "core/cluster_map.hpp"

namespace supercache {

cluster_map::cluster_map(size_t nodes, size_t partitions, size_t replicas)
  : nodes_(nodes), partitions_(partitions), replicas_(replicas) {
  // nop
}

std::vector<size_t> cluster_map::nodes_of(size_t p) const {
  std::vector<size_t> result;
  result.reserve(replicas_);
  for (size_t r = 0; r < replicas_; ++r)
    result.push_back((p + r) % nodes_);
  return result;
}

std::vector<size_t> cluster_map::partitions_of(size_t n) const {
  std::vector<size_t> result;
  for (size_t p = 0; p < partitions_; ++p)
    for (auto x : nodes_of(p))
      if (x == n) {
        result.push_back(p);
        break;
      }
  return result;
}

std::string cluster_map::describe(const std::vector<std::string>& list) const {
  std::string result;
  for (auto& x : list) {
    if (!result.empty())
      result += ',';
    result += x;
  }
  result += " partitions=" + std::to_string(partitions_);
  result += " replicas=" + std::to_string(replicas_);
  return result;
}

std::string
cluster_map::describe_node(size_t n,
                           const std::vector<std::string>& list) const {
  return "node " + std::to_string(n + 1) + " of " + describe(list);
}

} // namespace supercache
