// A cache node against hostile peers on loopback (issue 10, items 2 and 7):
// tests/node/hostile_caf_peer.cpp (CAF only) and hostile_forged_peer.cpp
// (forges supercache's messages) run as separate processes against a real
// `supercache-node` cache process, between two valid producers.

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>

#include <doctest/doctest.h>

#include <supercache/supercache.hpp>
#include "tests/process.hpp"

using namespace std::chrono_literals;
using supercache::testing::event;
using supercache::testing::input_file;
using supercache::testing::listening_port;
using supercache::testing::node_args;
using supercache::testing::process;

namespace {

/// Streams keys [first, first + n) to the cache node on `port` through a
/// producer node; returns its `done` event.
nlohmann::json produce(const std::string& port, int first, int n) {
  std::string text;
  for (int i = first; i < first + n; ++i)
    text += "[" + std::to_string(i) + ",\"v\"]\n";
  input_file input{text};
  process producer{node_args({"--supercache.role=\"producer\"",
                              "--supercache.remote=\"127.0.0.1:" + port
                                + "\"",
                              "--supercache.input=\"" + input.path.string()
                                + "\""})};
  auto status = producer.wait_for_exit(60s);
  REQUIRE_MESSAGE(status, "the producer hangs");
  REQUIRE_MESSAGE(*status == 0, producer.err());
  return event(producer.read_line(1s));
}

/// Returns the cache node's stats through a connection of our own.
nlohmann::json node_stats(const std::string& port) {
  caf::actor_system_config cfg;
  supercache::configure(cfg);
  cfg.load<caf::io::middleman>();
  cfg.set("logger.verbosity", caf::atom("quiet"));
  caf::actor_system sys{cfg};
  supercache::instance inst{sys};
  supercache::options opts;
  opts.remote = "127.0.0.1:" + port;
  opts.buffers = 1;
  // The sanitized suite runs beside a compiling test: generous deadlines.
  opts.connect_timeout = std::chrono::seconds(30);
  REQUIRE_EQ(inst.connect(opts), caf::none);
  auto st = inst.stats();
  REQUIRE(st);
  REQUIRE_EQ(inst.stop(), caf::none);
  return (*st)["cache_node"];
}

/// Runs `peer` against a fresh cache node between two producers of `n`
/// records each; checks counts, liveness and the node's stdout, and
/// returns the node's stats after the attack (with the peer's report as
/// "peer").
nlohmann::json attack(const char* peer, int n) {
  process cache{node_args({"--supercache.role=\"cache\""})};
  auto port = listening_port(cache);
  auto before = produce(port, 0, n);
  CHECK_EQ(before["accepted"], n);
  CHECK_EQ(before["stored"], n);
  process hostile{{peer, port}};
  auto status = hostile.wait_for_exit(150s);
  REQUIRE_MESSAGE(status, "the hostile peer hangs");
  CHECK_MESSAGE(*status == 0, hostile.err());
  auto report = event(hostile.read_line(1s));
  MESSAGE(report.dump());
  CHECK_EQ(report["answered"], true);
  CHECK_GE(report["found"].get<int>(), 3);
  // The node is alive, lost nothing, and takes new records exactly.
  auto after = produce(port, n, n);
  CHECK_EQ(after["accepted"], n);
  CHECK_EQ(after["lost"], 0);
  CHECK_EQ(after["stored"], 2 * n);
  auto stats = node_stats(port);
  CHECK_EQ(stats["records"], 2 * n);
  CHECK_EQ(stats["lost_stored"], 0);
  cache.kill(SIGTERM);
  REQUIRE_EQ(cache.wait_for_exit(30s), 0);
  // Nothing but JSON events on the node's stdout.
  std::istringstream lines{cache.out()};
  std::string line;
  int events = 0;
  while (std::getline(lines, line)) {
    auto x = nlohmann::json::parse(line, nullptr, false);
    CHECK_MESSAGE(x.is_object(), line);
    if (x.is_object())
      CHECK_MESSAGE(x.contains("event"), line);
    ++events;
  }
  CHECK_EQ(events, 2); // listening, stopped
  CHECK_NE(cache.out().find("\"stored\":" + std::to_string(2 * n)),
           std::string::npos);
  stats["peer"] = report;
  MESSAGE("the cache node's stats after the attack: " << stats.dump());
  return stats;
}

} // namespace

TEST_CASE("a CAF peer's junk and exits to every actor it finds change "
          "nothing on a cache node: producers before and after store exact "
          "counts, junk is counted, stdout stays JSON") {
  auto stats = attack(HOSTILE_CAF_PEER_PATH, 5'000);
  // Every message the peer sent was refused or counted as unexpected: its
  // 'sc_stop's to the buffers and its exits are refused, the rest is junk.
  auto unexpected = stats["unexpected"].get<uint64_t>();
  auto refused = stats["refused"].get<uint64_t>();
  CHECK_EQ(unexpected + refused, stats["peer"]["sent"].get<uint64_t>());
  CHECK_GE(refused, 30u); // 6 exits to each of 5 actors
}

TEST_CASE("forged entries, streams and local-only messages from a peer are "
          "refused and counted, and the cache node keeps running with its "
          "data intact") {
  auto stats = attack(HOSTILE_FORGED_PEER_PATH, 5'000);
  // Two streams with records for another partition index, one with
  // records under the right index whose partition element picks another
  // partition; the fourth's buffer index is out of range (its records are
  // counted too).
  CHECK_EQ(stats["peer"]["streamed"], 4 * 500);
  CHECK_EQ(stats["refused_records"], 4 * 500);
  // 8 entries, a barrier, a stop, a flush acknowledgment, 2 reopens (to
  // the buffer) and 2 handshakes; the put and the stop to the front are
  // unexpected there.
  CHECK_EQ(stats["refused"], 15);
  CHECK_EQ(stats["unexpected"], 2);
}
