// End-to-end tests of a producer node streaming to a cache node, both
// supercache-node processes on loopback (ports chosen by the OS): exact
// counts, a cache node that dies or freezes, signals, refused lines.

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>

#include <doctest/doctest.h>

#include <supercache/supercache.hpp>
#include "tests/process.hpp"

using namespace std::chrono_literals;
using namespace supercache::testing;

namespace {

/// A cache node, and a producer node that streams its stdin to it.
struct cache_and_producer {
  process cache{node_args({"--supercache.role=\"cache\""})};
  std::string port = listening_port(cache);
  process producer{stdin_producer_args(port), true};
};

} // namespace

TEST_CASE("a producer node streams every record to a cache node on loopback: "
          "exactly the distinct keys are stored and the last write of each "
          "key wins") {
  constexpr int records = 50'000;
  constexpr int keys = 7'000;
  std::string text;
  for (int i = 0; i < records; ++i)
    text += "[" + std::to_string(i % keys) + ",\"v\"," + std::to_string(i)
            + "]\n";
  input_file input{text};
  process cache{node_args({"--supercache.role=\"cache\""})};
  auto port = listening_port(cache);
  auto remote = "127.0.0.1:" + port;
  process producer{node_args({"--supercache.role=\"producer\"",
                              "--supercache.remote=" + in_quotes(remote),
                              "--supercache.input="
                                + in_quotes(input.path.string())})};
  auto status = producer.wait_for_exit(120s);
  REQUIRE_MESSAGE(status, "the producer hangs");
  REQUIRE_MESSAGE(*status == 0, producer.err());
  auto done = event(producer.read_line(1s));
  CHECK_EQ(done["event"], "done");
  CHECK_EQ(done["role"], "producer");
  CHECK_EQ(done["accepted"], records);
  CHECK_EQ(done["rejected"], 0);
  CHECK_EQ(done["stored"], keys);
  CHECK_EQ(done["lost"], 0);
  {
    // Read every key back through a connection of our own.
    caf::actor_system_config cfg;
    supercache::configure(cfg);
    cfg.load<caf::io::middleman>();
    cfg.set("logger.verbosity", caf::atom("quiet"));
    caf::actor_system sys{cfg};
    supercache::options opts;
    opts.remote = remote;
    opts.buffers = 1;
    REQUIRE_EQ(supercache::connect(sys, opts), caf::none);
    auto n = supercache::size();
    REQUIRE(n);
    CHECK_EQ(*n, static_cast<size_t>(keys));
    int wrong = 0;
    for (int k = 0; k < keys; ++k) {
      auto found = supercache::get(supercache::record::array({k, nullptr}));
      REQUIRE(found);
      auto last = (records - 1 - k) / keys * keys + k; // last i ≡ k
      if (found->size() != 1 || (*found)[0][2] != last) {
        if (wrong++ == 0)
          MESSAGE("key " << k << ": " << supercache::record(*found).dump());
      }
    }
    CHECK_EQ(wrong, 0);
    REQUIRE_EQ(supercache::stop(), caf::none);
    CHECK_EQ(supercache::last_stop_size(), static_cast<size_t>(keys));
  }
  cache.kill(SIGTERM);
  REQUIRE_EQ(cache.wait_for_exit(30s), 0);
  auto stopped = event(cache.read_line(1s));
  CHECK_EQ(stopped["event"], "stopped");
  CHECK_EQ(stopped["stored"], keys);
}

TEST_CASE("a cache node killed mid-ingest makes the producer exit non-zero "
          "with a clear message and no hang") {
  signal(SIGPIPE, SIG_IGN);
  cache_and_producer nodes;
  auto& [cache, port, producer] = nodes;
  auto chunk = records_chunk(1000);
  for (int i = 0; i < 20; ++i)
    REQUIRE(producer.write(chunk));
  cache.kill(SIGKILL);
  REQUIRE(cache.wait_for_exit(30s));
  // Keep feeding until the producer notices and stops reading, or give up
  // after 200k more lines and let it notice at its flush.
  for (int i = 0; i < 200 && producer.write(chunk); ++i)
    ; // nop
  producer.close_stdin();
  auto status = producer.wait_for_exit(60s);
  REQUIRE_MESSAGE(status, "the producer hangs");
  CHECK_EQ(*status, 1);
  CHECK_NE(producer.err().find("supercache::unreachable"), std::string::npos);
  CHECK_NE(producer.err().find("127.0.0.1:" + port), std::string::npos);
  CHECK_EQ(producer.out().find("\"event\":\"done\""), std::string::npos);
}

TEST_CASE("a frozen cache node makes the producer exit non-zero within the "
          "connection timeout") {
  // caf-application.conf: heartbeat-interval=1s, connection-timeout=5s.
  signal(SIGPIPE, SIG_IGN);
  cache_and_producer nodes;
  auto& [cache, port, producer] = nodes;
  auto chunk = records_chunk(1000);
  for (int i = 0; i < 20; ++i)
    REQUIRE(producer.write(chunk));
  cache.kill(SIGSTOP);
  auto frozen = std::chrono::steady_clock::now();
  producer.close_stdin();
  auto status = producer.wait_for_exit(30s);
  cache.kill(SIGCONT);
  REQUIRE_MESSAGE(status, "the producer hangs");
  CHECK_EQ(*status, 1);
  CHECK_LT(std::chrono::steady_clock::now() - frozen, 15s);
  CHECK_NE(producer.err().find("supercache::unreachable"), std::string::npos);
  CHECK_EQ(producer.out().find("\"event\":\"done\""), std::string::npos);
}

TEST_CASE("SIGTERM to a producer node reading an open pipe stops the ingest "
          "and every accepted record reaches the cache node") {
  cache_and_producer nodes;
  auto& [cache, port, producer] = nodes;
  REQUIRE(producer.write(records_chunk(5000) + "not json\n"));
  REQUIRE(producer.wait_for_err("line 5001: not valid JSON", 30s));
  producer.kill(SIGTERM);
  REQUIRE_EQ(producer.wait_for_exit(30s), 128 + SIGTERM);
  auto done = event(producer.read_line(1s));
  CHECK_EQ(done["event"], "done");
  CHECK_EQ(done["role"], "producer");
  CHECK_EQ(done["interrupted"], true);
  CHECK_EQ(done["accepted"], 5000);
  CHECK_EQ(done["stored"], 5000);
  CHECK_EQ(done["lost"], 0);
  cache.kill(SIGTERM);
  REQUIRE_EQ(cache.wait_for_exit(30s), 0);
  auto stopped = event(cache.read_line(1s));
  CHECK_EQ(stopped["stored"], 5000);
}

TEST_CASE("records nested one level beyond the limit are refused by the "
          "producer node with their line numbers, and every accepted record "
          "is stored by the cache node") {
  cache_and_producer nodes;
  auto& [cache, port, producer] = nodes;
  // Lines 100, 200, ..., 2000 nest 513 levels (the record's array is one).
  std::string text;
  for (int i = 1; i <= 2000; ++i)
    if (i % 100 == 0)
      text += "[" + std::to_string(i) + "," + std::string(512, '[') + "1"
              + std::string(512, ']') + "]\n";
    else
      text += "[" + std::to_string(i) + ",\"v\"]\n";
  REQUIRE(producer.write(text));
  producer.close_stdin();
  REQUIRE_EQ(producer.wait_for_exit(60s), 0);
  auto done = event(producer.read_line(1s));
  CHECK_EQ(done["accepted"], 1980);
  CHECK_EQ(done["rejected"], 20);
  CHECK_EQ(done["stored"], 1980);
  CHECK_EQ(done["lost"], 0);
  CHECK_NE(producer.err().find("line 100: supercache::invalid_record"),
           std::string::npos);
  cache.kill(SIGTERM);
  REQUIRE_EQ(cache.wait_for_exit(30s), 0);
  CHECK_EQ(event(cache.read_line(1s))["stored"], 1980);
}

TEST_CASE("a producer that loses its cache node prints what it accepted and "
          "lost before it exits 1") {
  signal(SIGPIPE, SIG_IGN);
  cache_and_producer nodes;
  auto& [cache, port, producer] = nodes;
  REQUIRE(producer.write(records_chunk(5000) + "not json\n"));
  REQUIRE(producer.wait_for_err("line 5001: not valid JSON", 30s));
  cache.kill(SIGKILL);
  REQUIRE(cache.wait_for_exit(30s));
  producer.close_stdin();
  auto status = producer.wait_for_exit(60s);
  REQUIRE_MESSAGE(status, "the producer hangs");
  CHECK_EQ(*status, 1);
  auto aborted = event(producer.read_line(1s));
  CHECK_EQ(aborted["event"], "aborted");
  CHECK_EQ(aborted["role"], "producer");
  CHECK_EQ(aborted["accepted"], 5000);
  CHECK_EQ(aborted["rejected"], 1);
  // Each accepted record was shipped before the cache node died (its fate
  // is the cache node's), or counted lost.
  CHECK_EQ(aborted["shipped"].get<int>() + aborted["lost"].get<int>(), 5000);
  CHECK_EQ(aborted["dropped"], 0);
  CHECK_EQ(aborted["complete"], true);
  CHECK_NE(producer.err().find("supercache::unreachable"), std::string::npos);
}
