// Cache nodes started with their cluster's list (README "Cluster", "A
// node's own place"), as separate processes on loopback: they know their
// place before any producer connects.

#include <csignal>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "tests/node/cluster.hpp"

using namespace std::chrono_literals;
using namespace supercache::testing;
using namespace supercache::testing::cluster;

TEST_CASE("cache nodes started with the cluster's list refuse the first "
          "producer that lists them in another order, naming both places, "
          "and take one given the same list") {
  signal(SIGPIPE, SIG_IGN);
  three_nodes c;
  auto list = c.list();
  // The ports are the OS's: restart each node on its port with the list.
  for (int k = 0; k < 3; ++k) {
    c.nodes[k]->kill(SIGTERM);
    REQUIRE_EQ(c.nodes[k]->wait_for_exit(30s), 0);
    c.nodes[k] = std::make_unique<process>(c.restart_args(k, true));
    REQUIRE_EQ(listening_port(*c.nodes[k]), c.ports[k]);
  }
  auto other = c.list({1, 0, 2});
  process wrong{producer_args(other)};
  wrong.close_stdin();
  auto status = wrong.wait_for_exit(60s);
  REQUIRE(status);
  CHECK_EQ(*status, 1);
  auto desc = [&](int k, const std::string& l) {
    return "node " + std::to_string(k) + " of " + l + " partitions="
           + std::to_string(partitions) + " replicas=2";
  };
  // The first node the producer tells its place refuses it.
  CHECK_NE(wrong.err().find("the cache node at 127.0.0.1:" + c.ports[1]
                            + " refused its place: this cache node is "
                              "configured as "
                            + desc(2, list)
                            + " (supercache.remote); the producer places "
                              "it as "
                            + desc(1, other)),
           std::string::npos);
  process right{producer_args(list), true};
  REQUIRE_MESSAGE(right.write(keyed_records(0, 1'000, 1'000)), right.err());
  right.close_stdin();
  status = right.wait_for_exit(60s);
  REQUIRE(status);
  REQUIRE_MESSAGE(*status == 0, right.err());
  auto done = event(right.read_line(1s));
  CHECK_EQ(done["accepted"], 1'000);
  CHECK_EQ(done["stored"], 1'000);
}
