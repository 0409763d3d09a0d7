#pragma once

// Helpers of the cluster tests: three cache nodes as processes on loopback,
// producer nodes, and an actor system of the test's own to read back.

#include <chrono>
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

namespace supercache::testing::cluster {

using namespace std::chrono_literals;


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

  /// Returns the arguments that restart node `k`, empty, on its port; with
  /// `configured`, given the cluster's list (replicas = 2), so it knows its
  /// place and takes writes only from producers that state it.
  std::vector<std::string> restart_args(int k, bool configured = false) const {
    std::vector<std::string> args{
      "--supercache.role=\"cache\"",
      "--supercache.partitions=" + std::to_string(partitions),
      "--supercache.port=" + ports[k]};
    if (configured) {
      args.push_back("--supercache.remote=" + in_quotes(list()));
      args.push_back("--supercache.replicas=2");
    }
    return node_args(args);
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
inline std::vector<std::string> producer_args(const std::string& list,
                                       int replicas = 2) {
  return node_args({"--supercache.role=\"producer\"",
                    "--supercache.remote=" + in_quotes(list),
                    "--supercache.replicas=" + std::to_string(replicas),
                    "--supercache.input=\"-\""});
}

/// `n` records `[base + i % keys, "v", i]`, i = 0 .. n-1.
inline std::string keyed_records(int base, int n, int keys) {
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

/// Returns the value (element 2) of each key 0 .. n-1 the node on `port`
/// holds by itself, or null for a key it does not hold.
inline std::vector<supercache::record> values_on(const std::string& port,
                                                 int n) {
  reader r;
  supercache::instance inst{r.sys};
  supercache::options opts;
  opts.remote = "127.0.0.1:" + port;
  opts.buffers = 1;
  std::vector<supercache::record> result;
  REQUIRE_EQ(inst.connect(opts), caf::none);
  for (int k = 0; k < n; ++k) {
    auto found = inst.get(supercache::record::array({k, nullptr}));
    REQUIRE(found);
    REQUIRE_LE(found->size(), 1u);
    result.push_back(found->empty() ? nullptr : (*found)[0][2]);
  }
  REQUIRE_EQ(inst.stop(), caf::none);
  return result;
}

/// Returns the records of each partition of the node on `port`, by index.
inline std::vector<uint64_t> partition_sizes(const std::string& port) {
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
inline uint64_t check_copies_agree(const three_nodes& c,
                                   std::vector<bool> up) {
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
  auto err = inst.connect(opts);
  REQUIRE_MESSAGE(!err, supercache::render(err));
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


} // namespace supercache::testing::cluster
