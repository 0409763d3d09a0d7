// The cluster map: partition p on nodes p % N ... (p + R - 1) % N.

#include <doctest/doctest.h>

#include "core/cluster_map.hpp"

using supercache::cluster_map;

TEST_CASE("the cluster map places each partition on replicas distinct nodes, "
          "primary p mod N, and every node holds its share") {
  cluster_map map{3, 8, 2};
  CHECK_EQ(map.nodes_of(0), std::vector<size_t>{0, 1});
  CHECK_EQ(map.nodes_of(2), std::vector<size_t>{2, 0});
  CHECK_EQ(map.nodes_of(7), std::vector<size_t>{1, 2});
  CHECK_EQ(map.partitions_of(0), std::vector<size_t>{0, 2, 3, 5, 6});
  CHECK_EQ(map.partitions_of(1), std::vector<size_t>{0, 1, 3, 4, 6, 7});
  CHECK_EQ(map.partitions_of(2), std::vector<size_t>{1, 2, 4, 5, 7});
  size_t copies = 0;
  for (size_t n = 0; n < 3; ++n)
    copies += map.partitions_of(n).size();
  CHECK_EQ(copies, 16u);
}

TEST_CASE("a cluster map of one node and one replica is today's single node") {
  cluster_map map{1, 4, 1};
  for (size_t p = 0; p < 4; ++p)
    CHECK_EQ(map.nodes_of(p), std::vector<size_t>{0});
  CHECK_EQ(map.partitions_of(0), std::vector<size_t>{0, 1, 2, 3});
}

TEST_CASE("the cluster map's description names the list, the partitions and "
          "the replicas, so peers compare them as one string") {
  cluster_map map{2, 4, 2};
  CHECK_EQ(map.describe({"a:1", "b:2"}), "a:1,b:2 partitions=4 replicas=2");
}
