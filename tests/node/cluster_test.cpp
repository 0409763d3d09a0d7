// A cluster on loopback: three supercache-node cache nodes, producer nodes
// streaming to them with replicas = 2 (ports chosen by the OS): exact
// counts on every copy, a node killed mid-ingest, every copy of a partition
// killed, a producer whose list differs.

#include <chrono>
#include <csignal>
#include <numeric>
#include <string>
#include <thread>

#include <doctest/doctest.h>

#include "tests/node/cluster.hpp"

using namespace std::chrono_literals;
using namespace supercache::testing;
using namespace supercache::testing::cluster;

TEST_CASE("two producers stream to three cache nodes with replicas = 2: "
          "every copy of every partition holds exactly the distinct keys and "
          "the last write of each key wins") {
  constexpr int records = 20'000;
  constexpr int keys = 3'000;
  three_nodes c;
  process a{producer_args(c.list()), true};
  process b{producer_args(c.list()), true};
  REQUIRE(a.write(keyed_records(0, records, keys)));
  REQUIRE(b.write(keyed_records(keys, records, keys)));
  a.close_stdin();
  b.close_stdin();
  for (auto* p : {&a, &b}) {
    auto status = p->wait_for_exit(120s);
    REQUIRE_MESSAGE(status, "a producer hangs");
    REQUIRE_MESSAGE(*status == 0, p->err());
    auto done = event(p->read_line(1s));
    CHECK_EQ(done["accepted"], records);
    CHECK_EQ(done["lost"], 0);
  }
  CHECK_EQ(check_copies_agree(c, {true, true, true}), 2u * keys);
  // Read every key back through the cluster.
  reader r;
  supercache::instance inst{r.sys};
  read_back(inst, c.list(), 2 * keys, [&](int k) {
    auto key = k % keys;
    return (records - 1 - key) / keys * keys + key; // the last i of key
  });
  auto stats = inst.stats();
  REQUIRE(stats);
  auto& cluster = (*stats)["cluster"];
  CHECK_EQ(cluster["replicas"], 2);
  CHECK_EQ(cluster["partitions"].size(), partitions);
  CHECK_EQ(cluster["partitions"][0]["replicas"][1],
           "127.0.0.1:" + c.ports[1]);
  REQUIRE_EQ(inst.stop(), caf::none);
}

TEST_CASE("a cache node killed mid-ingest costs no accepted record with "
          "replicas = 2: both producers exit 0, the copies left agree, a "
          "producer connecting afterwards reads every key, and the node "
          "restarted empty copies its partitions back") {
  signal(SIGPIPE, SIG_IGN);
  constexpr int keys = 4'000;
  three_nodes c;
  process a{producer_args(c.list()), true};
  process b{producer_args(c.list()), true};
  // Each producer is streaming once it reports the line after the first
  // chunk.
  REQUIRE(a.write(keyed_records(0, keys, keys) + "not json\n"));
  REQUIRE(b.write(keyed_records(keys, keys, keys) + "not json\n"));
  auto marker = "line " + std::to_string(keys + 1) + ": not valid JSON";
  REQUIRE_MESSAGE(a.wait_for_err(marker, 30s), a.err());
  REQUIRE_MESSAGE(b.wait_for_err(marker, 30s), b.err());
  c.nodes[1]->kill(SIGKILL);
  REQUIRE(c.nodes[1]->wait_for_exit(30s));
  REQUIRE_MESSAGE(a.write(keyed_records(0, keys, keys)), a.err());
  REQUIRE_MESSAGE(b.write(keyed_records(keys, keys, keys)), b.err());
  a.close_stdin();
  b.close_stdin();
  for (auto* p : {&a, &b}) {
    auto status = p->wait_for_exit(120s);
    REQUIRE_MESSAGE(status, "a producer hangs");
    REQUIRE_MESSAGE(*status == 0, p->err());
    auto done = event(p->read_line(1s));
    CHECK_EQ(done["accepted"], 2 * keys);
    CHECK_EQ(done["rejected"], 1);
    CHECK_EQ(done["lost"], 0);
    CHECK_NE(p->err().find("127.0.0.1:" + c.ports[1] + " went away"),
             std::string::npos);
    // Each of its 2 buffers (one per scheduler thread) dropped its lanes to
    // the 4 partitions of the lost node: 1, 2, 4, 5 (core/cluster_map.hpp).
    CHECK_EQ(done["replicas_lost"], 8);
  }
  CHECK_EQ(check_copies_agree(c, {true, false, true}), 2u * keys);
  // A producer that connects now, with the same list, reads every key from
  // the copies left.
  {
    reader r;
    supercache::instance inst{r.sys};
    read_back(inst, c.list(), 2 * keys, [&](int k) { return k % keys; });
    auto stats = inst.stats();
    REQUIRE(stats);
    CHECK_EQ((*stats)["cluster"]["nodes"][1]["up"], false);
    CHECK_EQ((*stats)["cluster"]["partitions"][0]["in_sync"],
             supercache::record::array({true, false}));
    REQUIRE_EQ(inst.stop(), caf::none);
  }
  // The killed node restarts on its port, empty: a producer that connects
  // now has it copy its partitions from their other copies (rejoin), and
  // every copy agrees again.
  process again{c.restart_args(1)};
  REQUIRE_EQ(listening_port(again), c.ports[1]);
  {
    reader r;
    supercache::instance inst{r.sys};
    read_back(inst, c.list(), 2 * keys, [&](int k) { return k % keys; });
    auto stats = inst.stats();
    REQUIRE(stats);
    CHECK_EQ((*stats)["cluster"]["nodes"][1]["up"], true);
    CHECK_GT((*stats)["cluster"]["nodes"][1]["records"].get<uint64_t>(), 0u);
    CHECK_EQ((*stats)["cluster"]["partitions"][0]["in_sync"],
             supercache::record::array({true, true}));
    REQUIRE_EQ(inst.stop(), caf::none);
  }
  CHECK_EQ(check_copies_agree(c, {true, true, true}), 2u * keys);
}

TEST_CASE("losing every copy of a partition makes the producers exit 1 "
          "naming the partition and its nodes, and the restarted nodes "
          "cannot copy it back") {
  signal(SIGPIPE, SIG_IGN);
  three_nodes c;
  process a{producer_args(c.list()), true};
  REQUIRE(a.write(keyed_records(0, 2'000, 2'000) + "not json\n"));
  REQUIRE_MESSAGE(a.wait_for_err("line 2001: not valid JSON", 30s), a.err());
  // The cluster runs before the kills (node 3, which stays, holds records):
  // else the restarted nodes would count as new ones, not as restarted.
  auto deadline = std::chrono::steady_clock::now() + 30s;
  auto held = [&] {
    auto xs = partition_sizes(c.ports[2]);
    return std::accumulate(xs.begin(), xs.end(), uint64_t{0});
  };
  while (held() == 0) {
    REQUIRE_MESSAGE(std::chrono::steady_clock::now() < deadline,
                    "node 3 got no record in 30 s");
    std::this_thread::sleep_for(10ms);
  }
  for (int k : {0, 1}) {
    c.nodes[k]->kill(SIGKILL);
    REQUIRE(c.nodes[k]->wait_for_exit(30s));
  }
  for (int i = 0; i < 50 && a.write(keyed_records(0, 1'000, 1'000)); ++i)
    ; // until it notices
  a.close_stdin();
  auto status = a.wait_for_exit(60s);
  REQUIRE_MESSAGE(status, "the producer hangs");
  CHECK_EQ(*status, 1);
  MESSAGE(a.err());
  CHECK_NE(a.err().find("supercache::unreachable"), std::string::npos);
  // Partition 1 lives on nodes 1 and 2 (core/cluster_map.hpp).
  CHECK_NE(a.err().find("cache partition 1 on 127.0.0.1:" + c.ports[0]
                        + " 127.0.0.1:" + c.ports[1] + " (every replica)"),
           std::string::npos);
  // Both nodes restart empty on their ports: neither can copy partitions 1
  // and 4, whose only other copy is on the other, so a producer that
  // connects now is refused, naming what cannot be copied.
  std::vector<std::unique_ptr<process>> again;
  for (int k : {0, 1}) {
    again.push_back(std::make_unique<process>(c.restart_args(k)));
    REQUIRE_EQ(listening_port(*again.back()), c.ports[k]);
  }
  reader r;
  supercache::instance inst{r.sys};
  supercache::options opts;
  opts.remote = c.list();
  opts.replicas = 2;
  auto err = inst.connect(opts);
  REQUIRE(err);
  MESSAGE(supercache::render(err));
  CHECK_EQ(err, supercache::errc::unreachable);
  CHECK_NE(supercache::render(err).find(
             "cache partition 1 has no copy that answers: the cache node at "
             "127.0.0.1:" + c.ports[0] + " restarted empty in a running "
             "cluster and cannot copy partitions 1, 4: no other copy "
             "answers"),
           std::string::npos);
}

TEST_CASE("a producer whose remote list differs from the one a cache node "
          "was placed by is refused at connect, naming both") {
  three_nodes c;
  reader r1, r2, r3; // one instance per actor system
  supercache::instance first{r1.sys};
  supercache::options opts;
  opts.remote = c.list();
  opts.replicas = 2;
  opts.buffers = 1;
  REQUIRE_EQ(first.connect(opts), caf::none);
  supercache::instance second{r2.sys};
  auto other = opts;
  other.remote = c.list({0, 1});
  auto err = second.connect(other);
  REQUIRE(err);
  CHECK_EQ(err.code(), static_cast<uint8_t>(supercache::errc::invalid_option));
  auto text = supercache::render(err);
  CHECK_NE(text.find("refused its place"), std::string::npos);
  CHECK_NE(text.find(c.list()), std::string::npos);
  CHECK_NE(text.find(c.list({0, 1})), std::string::npos);
  // The same list, partitions and replicas are welcome.
  supercache::instance third{r3.sys};
  CHECK_EQ(third.connect(opts), caf::none);
  CHECK_EQ(third.stop(), caf::none);
  CHECK_EQ(first.stop(), caf::none);
}

TEST_CASE("a cluster list with an entry twice, or fewer nodes than "
          "replicas, is refused before anything connects") {
  reader r;
  supercache::instance inst{r.sys};
  supercache::options opts;
  opts.remote = "127.0.0.1:4000,127.0.0.1:4000";
  auto err = inst.connect(opts);
  CHECK_NE(supercache::render(err).find("listed twice"), std::string::npos);
  opts.remote = "127.0.0.1:4000,127.0.0.1:4001";
  opts.replicas = 3;
  err = inst.connect(opts);
  CHECK_NE(supercache::render(err).find("replicas = 3 needs"),
           std::string::npos);
  opts.replicas = 2;
  opts.overflow = supercache::overflow_policy::drop_oldest;
  err = inst.connect(opts);
  CHECK_NE(supercache::render(err).find("overflow = \"drop-oldest\" with "
                                        "replicas = 2"),
           std::string::npos);
  opts.overflow = supercache::overflow_policy::block;
  opts.remote = "127.0.0.1:4000,nonsense";
  opts.replicas = 1;
  err = inst.connect(opts);
  CHECK_NE(supercache::render(err).find("entry \"nonsense\""),
           std::string::npos);
}

TEST_CASE("cache nodes with different partitions are refused as one cluster, "
          "naming both") {
  process six{node_args({"--supercache.role=\"cache\"",
                         "--supercache.partitions=6"})};
  auto six_port = listening_port(six);
  process four{node_args({"--supercache.role=\"cache\"",
                          "--supercache.partitions=4"})};
  auto four_port = listening_port(four);
  reader r;
  supercache::instance inst{r.sys};
  supercache::options opts;
  opts.remote = "127.0.0.1:" + six_port + ",127.0.0.1:" + four_port;
  auto err = inst.connect(opts);
  REQUIRE(err);
  CHECK_EQ(err.code(), static_cast<uint8_t>(supercache::errc::invalid_option));
  CHECK_NE(supercache::render(err).find("127.0.0.1:" + four_port
                                        + " has 4 partitions"),
           std::string::npos);
}
