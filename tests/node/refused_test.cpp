// A record that a cache node cannot decode, over the real wire: the cache
// node refuses that record alone, stores the rest of its batch, and tells
// the producer's buffer, which counts it as lost.

#include <chrono>
#include <csignal>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>

#include <doctest/doctest.h>

#include <supercache/supercache.hpp>

#include "actors/messages.hpp"
#include "tests/process.hpp"

using namespace std::chrono_literals;
using supercache::record;
using supercache::testing::listening_port;
using supercache::testing::node_args;
using supercache::testing::process;

TEST_CASE("a record a cache node cannot decode is refused alone over the "
          "wire: the rest of its batch is stored and the producer counts it "
          "as lost") {
  process cache{node_args({"--supercache.role=\"cache\""})};
  auto remote = "127.0.0.1:" + listening_port(cache);
  {
    caf::actor_system_config cfg;
    supercache::configure(cfg);
    cfg.load<caf::io::middleman>();
    cfg.set("logger.verbosity", caf::atom("quiet"));
    caf::actor_system sys{cfg};
    supercache::options opts;
    opts.remote = remote;
    opts.buffers = 1;
    REQUIRE_EQ(supercache::connect(sys, opts), caf::none);
    auto buf = caf::actor_cast<caf::actor>(
      sys.registry().get(caf::atom("buffer_1")));
    REQUIRE(buf);
    // Packed here without `validate` (as a faulty or older producer might):
    // 600 levels, which the cache node's check refuses.
    record deep = 1;
    for (int i = 1; i < 600; ++i) {
      auto outer = record::array();
      outer.push_back(std::move(deep));
      deep = std::move(outer);
    }
    auto bad = supercache::packed::pack(record::array({-1, std::move(deep)}),
                                        supercache::record_layout{})
                 .first;
    for (int i = 0; i < 100; ++i) {
      REQUIRE_EQ(supercache::lazy_put(record::array({i, "v"})), caf::none);
      if (i == 50)
        caf::anon_send(buf, supercache::entry{0, 0, bad, 0});
    }
    REQUIRE_EQ(supercache::flush(), caf::none);
    CHECK_EQ(*supercache::size(), 100u);
    auto stats = supercache::stats();
    REQUIRE(stats);
    CHECK_EQ((*stats)["lost"], 1);
    CHECK_EQ((*stats)["enqueued"], 100);
    REQUIRE_EQ(supercache::stop(), caf::none);
  }
  cache.kill(SIGTERM);
  REQUIRE_EQ(cache.wait_for_exit(30s), 0);
  auto stopped = nlohmann::json::parse(cache.read_line(1s).value_or("{}"));
  CHECK_EQ(stopped["stored"], 100);
}
