// A cluster on loopback: three supercache-node cache nodes, producer nodes
// streaming to them with replicas = 2 (ports chosen by the OS): exact
// counts on every copy, a node killed mid-ingest, every copy of a partition
// killed, a producer whose list differs.

#include <chrono>
#include <csignal>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>

#include <doctest/doctest.h>

#include <supercache/supercache.hpp>
#include "core/cluster_map.hpp"
#include "tests/process.hpp"

using namespace std::chrono_literals;
using namespace supercache::testing;

namespace {

constexpr size_t partitions = 6;

/// Three cache nodes with `partitions` partitions each.
struct three_nodes {
  three_nodes() {
    for (int k = 0; k < 3; ++k) {
      nodes.push_back(std::make_unique<process>(node_args(
        {"--supercache.role=\"cache\"",
         "--supercache.partitions=" + std::to_string(partitions)})));
      ports.push_back(listening_port(*nodes.back()));
    }
  }

  /// Returns the `remote` list of nodes `ks` (all by default).
  std::string list(std::vector<int> ks = {0, 1, 2}) const {
    std::string result;
    for (auto k : ks)
      result += (result.empty() ? "" : ",") + ("127.0.0.1:" + ports[k]);
    return result;
  }

  std::vector<std::unique_ptr<process>> nodes;
  std::vector<std::string> ports;
};

/// Arguments of a producer node streaming stdin to the cluster `list`.
std::vector<std::string> producer_args(const std::string& list,
                                       int replicas = 2) {
  return node_args({"--supercache.role=\"producer\"",
                    "--supercache.remote=" + in_quotes(list),
                    "--supercache.replicas=" + std::to_string(replicas),
                    "--supercache.input=\"-\""});
}

/// `n` records `[base + i % keys, "v", i]`, i = 0 .. n-1.
std::string keyed_records(int base, int n, int keys) {
  std::string result;
  for (int i = 0; i < n; ++i)
    result += "[" + std::to_string(base + i % keys) + ",\"v\","
              + std::to_string(i) + "]\n";
  return result;
}

/// An actor system of our own, with CAF's network layer, to read back.
struct reader {
  reader() : sys(init(cfg)) {
    // nop
  }

  static caf::actor_system_config& init(caf::actor_system_config& x) {
    supercache::configure(x);
    x.load<caf::io::middleman>();
    x.set("logger.verbosity", caf::atom("quiet"));
    // The nodes drop a peer that stays silent for 5 s (the shipped config's
    // connection-timeout): heartbeats keep an idle link, e.g. to a node
    // left out, open, as in a producer node.
    x.set("middleman.heartbeat-interval",
          caf::timespan{std::chrono::seconds(1)});
    return x;
  }

  caf::actor_system_config cfg;
  caf::actor_system sys;
};

/// Returns the records of each partition of the node on `port`, by index.
std::vector<uint64_t> partition_sizes(const std::string& port) {
  reader r;
  supercache::instance inst{r.sys};
  supercache::options opts;
  opts.remote = "127.0.0.1:" + port;
  opts.buffers = 1;
  std::vector<uint64_t> result;
  REQUIRE_EQ(inst.connect(opts), caf::none);
  auto stats = inst.stats();
  REQUIRE(stats);
  for (auto& x : (*stats)["cache_node"]["partitions"])
    result.push_back(x["records"].get<uint64_t>());
  REQUIRE_EQ(inst.stop(), caf::none);
  return result;
}

/// Checks that both copies of every partition hold the same number of
/// records, of the live nodes in `up`, and returns the records of the
/// cluster (each partition once).
uint64_t check_copies_agree(const three_nodes& c, std::vector<bool> up) {
  std::vector<std::vector<uint64_t>> sizes(3);
  for (int k = 0; k < 3; ++k)
    if (up[k])
      sizes[k] = partition_sizes(c.ports[k]);
  supercache::cluster_map map{3, partitions, 2};
  uint64_t total = 0;
  for (size_t p = 0; p < partitions; ++p) {
    std::vector<uint64_t> counts;
    for (auto k : map.nodes_of(p))
      if (up[k])
        counts.push_back(sizes[k][p]);
    REQUIRE_FALSE(counts.empty());
    for (auto n : counts)
      CHECK_MESSAGE(n == counts.front(), "partition " << p + 1);
    total += counts.front();
    // A node holds nothing of a partition the map does not give it.
    for (int k = 0; k < 3; ++k)
      if (up[k] && map.nodes_of(p)[0] != size_t(k)
          && map.nodes_of(p)[1] != size_t(k))
        CHECK_EQ(sizes[k][p], 0u);
  }
  return total;
}

/// Connects `inst` to the cluster `list` with replicas = 2 and checks that it
/// holds exactly `n` records, keys 0 .. n-1, key `k` as `[k, "v",
/// value_of(k)]`.
template <class F>
void read_back(supercache::instance& inst, const std::string& list, int n,
               F value_of) {
  supercache::options opts;
  opts.remote = list;
  opts.replicas = 2;
  opts.buffers = 1;
  REQUIRE_EQ(inst.connect(opts), caf::none);
  auto size = inst.size();
  REQUIRE(size);
  CHECK_EQ(*size, static_cast<size_t>(n));
  int wrong = 0;
  for (int k = 0; k < n; ++k) {
    auto found = inst.get(supercache::record::array({k, nullptr}));
    REQUIRE(found);
    if (found->size() != 1 || (*found)[0][2] != value_of(k))
      ++wrong;
  }
  CHECK_EQ(wrong, 0);
}

} // namespace

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
          "replicas = 2: both producers exit 0, the copies left agree, and a "
          "producer connecting afterwards reads every key") {
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
  // now leaves it out (its copies lack what was written) and still reads
  // every key from the others.
  process again{node_args({"--supercache.role=\"cache\"",
                           "--supercache.partitions="
                             + std::to_string(partitions),
                           "--supercache.port=" + c.ports[1]})};
  REQUIRE_EQ(listening_port(again), c.ports[1]);
  reader r;
  supercache::instance inst{r.sys};
  read_back(inst, c.list(), 2 * keys, [&](int k) { return k % keys; });
  auto stats = inst.stats();
  REQUIRE(stats);
  CHECK_EQ((*stats)["cluster"]["nodes"][1]["up"], true);
  CHECK_EQ((*stats)["cluster"]["nodes"][1]["records"], 0);
  CHECK_EQ((*stats)["cluster"]["partitions"][0]["in_sync"],
           supercache::record::array({true, false}));
  REQUIRE_EQ(inst.stop(), caf::none);
}

TEST_CASE("losing every copy of a partition makes the producers exit 1 "
          "naming the partition and its nodes") {
  signal(SIGPIPE, SIG_IGN);
  three_nodes c;
  process a{producer_args(c.list()), true};
  REQUIRE(a.write(keyed_records(0, 2'000, 2'000) + "not json\n"));
  REQUIRE_MESSAGE(a.wait_for_err("line 2001: not valid JSON", 30s), a.err());
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
