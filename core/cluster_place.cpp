#include "core/cluster_place.hpp"

#include <algorithm>

#include <supercache/errc.hpp>
#include <supercache/options.hpp>

#include "core/cluster_map.hpp"

namespace supercache {

caf::expected<cluster_place>
cluster_place::find(const std::string& remote, const std::string& host,
                    uint16_t port, size_t partitions, size_t replicas) {
  auto eps = parse_endpoints(remote);
  if (!eps)
    return std::move(eps.error());
  auto where = "remote = \"" + remote + "\"";
  auto self = host + ":" + std::to_string(port);
  if (replicas < 1 || replicas > eps->size())
    return make_error(errc::invalid_option,
                      "replicas = " + std::to_string(replicas)
                        + " needs 1..the cache nodes in " + where);
  cluster_place result;
  result.partitions = partitions;
  result.replicas = replicas;
  size_t exact = eps->size();
  std::vector<size_t> same_port;
  for (size_t k = 0; k < eps->size(); ++k) {
    auto& ep = (*eps)[k];
    result.nodes.push_back(ep.text);
    if (ep.port != port)
      continue;
    same_port.push_back(k);
    if (ep.host == host)
      exact = k;
  }
  if (exact < eps->size()) {
    result.index = exact;
    return result;
  }
  if (same_port.size() == 1) {
    result.index = same_port.front();
    return result;
  }
  if (same_port.empty())
    return make_error(errc::invalid_option,
                      "no entry of " + where + " is this cache node ("
                        + self + "): list it there, or listen on its port");
  return make_error(errc::invalid_option,
                    "several entries of " + where + " have port "
                      + std::to_string(port) + " and none is " + self
                      + ": set the host to this node's entry");
}

std::string cluster_place::description() const {
  return cluster_map{nodes.size(), partitions, replicas}.describe_node(index,
                                                                       nodes);
}

caf::error
cluster_place::check_leaders(const std::vector<std::string>& leaders) const {
  cluster_map map{nodes.size(), partitions, replicas};
  if (leaders.size() != partitions)
    return make_error(errc::invalid_option,
                      "a rejoin names " + std::to_string(leaders.size())
                        + " leaders for " + std::to_string(partitions)
                        + " partitions");
  auto mine = map.partitions_of(index);
  for (size_t p = 0; p < partitions; ++p) {
    auto holds = std::binary_search(mine.begin(), mine.end(), p);
    auto what = "a rejoin names \"" + leaders[p] + "\" as the leader of cache "
                + "partition " + std::to_string(p + 1);
    if (!holds) {
      if (!leaders[p].empty())
        return make_error(errc::invalid_option,
                          what + ", which this node (" + nodes[index]
                            + ") does not hold");
      continue;
    }
    std::string others;
    bool listed = false;
    for (auto k : map.nodes_of(p)) {
      if (k == index)
        continue;
      others += (others.empty() ? "" : ", ") + nodes[k];
      listed = listed || nodes[k] == leaders[p];
    }
    if (others.empty())
      return make_error(errc::invalid_option,
                        what + "; it has no other copy (replicas = 1)");
    if (!listed)
      return make_error(errc::invalid_option,
                        what + "; its other copies are on " + others);
  }
  return caf::none;
}

} // namespace supercache
