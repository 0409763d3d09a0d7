// Tests of a cache node's configured place in a cluster
// (core/cluster_place.hpp).

#include <doctest/doctest.h>

#include <supercache/errc.hpp>

#include "core/cluster_map.hpp"
#include "core/cluster_place.hpp"

using namespace supercache;

namespace {

const std::string list = "10.0.0.1:7000,10.0.0.2:7000,127.0.0.1:7003";

/// Returns the rendered error of `x`, or "" if it holds a place.
std::string error_of(const caf::expected<cluster_place>& x) {
  return x ? std::string{} : render(x.error());
}

} // namespace

TEST_CASE("a node finds its entry by host and port, else by a port only "
          "it has, and its place is the one a producer given the same list "
          "tells it") {
  auto a = cluster_place::find(list, "10.0.0.2", 7000, 6, 2);
  REQUIRE(a);
  CHECK_EQ(a->index, 1u);
  std::vector<std::string> nodes{"10.0.0.1:7000", "10.0.0.2:7000",
                                 "127.0.0.1:7003"};
  CHECK_EQ(a->nodes, nodes);
  CHECK_EQ(a->description(), cluster_map{3, 6, 2}.describe_node(1, nodes));
  CHECK_EQ(a->description(),
           "node 2 of " + list + " partitions=6 replicas=2");
  // Listening on every interface: the only entry with port 7003.
  auto b = cluster_place::find(list, "0.0.0.0", 7003, 6, 2);
  REQUIRE(b);
  CHECK_EQ(b->index, 2u);
}

TEST_CASE("a node that is no entry of its list, or cannot tell which, or "
          "whose replicas do not fit the list is refused, naming why") {
  auto none = error_of(cluster_place::find(list, "10.0.0.1", 7001, 6, 2));
  CHECK_NE(none.find("no entry of remote = \"" + list
                     + "\" is this cache node (10.0.0.1:7001)"),
           std::string::npos);
  auto two = error_of(cluster_place::find(list, "0.0.0.0", 7000, 6, 2));
  CHECK_NE(two.find("several entries of remote = \"" + list
                    + "\" have port 7000 and none is 0.0.0.0:7000"),
           std::string::npos);
  auto replicas = error_of(cluster_place::find(list, "10.0.0.1", 7000, 6, 4));
  CHECK_NE(replicas.find("replicas = 4 needs 1..the cache nodes"),
           std::string::npos);
  CHECK_NE(error_of(cluster_place::find("a:1,a:1", "a", 1, 6, 1))
             .find("twice"),
           std::string::npos);
}

TEST_CASE("a rejoin's leaders pass only if each names another node holding "
          "a copy of a partition this node holds, and none names one it "
          "does not hold") {
  // Node 3 of 3, 3 partitions, 2 copies: partition 2 on nodes 2 and 3,
  // partition 3 on nodes 3 and 1; partition 1 (nodes 1, 2) not here.
  auto x = cluster_place::find(list, "127.0.0.1", 7003, 3, 2);
  REQUIRE(x);
  CHECK_EQ(x->check_leaders({"", "10.0.0.2:7000", "10.0.0.1:7000"}),
           caf::none);
  auto bad = [&](std::vector<std::string> leaders) {
    return render(x->check_leaders(leaders));
  };
  CHECK_NE(bad({"10.0.0.1:7000", "10.0.0.2:7000", "10.0.0.1:7000"})
             .find("as the leader of cache partition 1, which this node "
                   "(127.0.0.1:7003) does not hold"),
           std::string::npos);
  CHECK_NE(bad({"", "10.0.0.1:7000", "10.0.0.1:7000"})
             .find("\"10.0.0.1:7000\" as the leader of cache partition 2; "
                   "its other copies are on 10.0.0.2:7000"),
           std::string::npos);
  CHECK_NE(bad({"", "10.0.0.2:7000", ""}).find("partition 3"),
           std::string::npos); // a partition it holds needs a leader
  CHECK_NE(bad({"", "127.0.0.1:7003", "10.0.0.1:7000"})
             .find("partition 2"),
           std::string::npos); // not itself
  CHECK_NE(bad({"", ""}).find("names 2 leaders for 3 partitions"),
           std::string::npos);
  auto single = cluster_place::find(list, "127.0.0.1", 7003, 3, 1);
  REQUIRE(single);
  CHECK_NE(render(single->check_leaders({"", "", "10.0.0.1:7000"}))
             .find("it has no other copy (replicas = 1)"),
           std::string::npos);
}
