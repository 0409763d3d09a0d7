#pragma once

/// A cache node and a producer connected to it on loopback, each an
/// `instance` of its own threaded actor system in this process: the set-up
/// of the tests that run a call against a connected cache node.

#include <cstdint>
#include <string>
#include <vector>

#include <caf/io/middleman.hpp>

#include <doctest/doctest.h>

#include <supercache/supercache.hpp>

#include "tests/fixture.hpp"
#include "tests/streamer.hpp"

namespace supercache::testing {

/// A threaded config with CAF's network layer.
struct net_config : threaded_config {
  net_config() {
    load<caf::io::middleman>();
  }
};

/// Starts `node` with the options it is given, publishes it on a port the OS
/// picks and connects `producer` to it. The instances are declared after
/// their systems: destroyed first, they stop themselves, also when a
/// `REQUIRE` fails half-way.
struct loopback_pair {
  /// `producer_opts.remote` is set to the node's address here.
  loopback_pair(const options& node_opts, options producer_opts) {
    REQUIRE_EQ(node.start(node_opts), caf::none);
    auto published = node.publish(0);
    REQUIRE(published);
    port = *published;
    producer_opts.remote = "127.0.0.1:" + std::to_string(port);
    REQUIRE_EQ(producer.connect(producer_opts), caf::none);
  }

  /// Stops the producer, then the node.
  void stop() {
    REQUIRE_EQ(producer.stop(), caf::none);
    REQUIRE_EQ(node.stop(), caf::none);
  }

  net_config node_cfg;
  caf::actor_system node_sys{node_cfg};
  instance node{node_sys};
  net_config producer_cfg;
  caf::actor_system producer_sys{producer_cfg};
  instance producer{producer_sys};
  uint16_t port = 0;
};

/// Returns the partitions the front of the cache node at `port` names, as
/// the peer `sys` sees them.
inline std::vector<caf::actor> partitions_at(caf::actor_system& sys,
                                             uint16_t port) {
  auto front = sys.middleman().remote_actor("127.0.0.1", port);
  REQUIRE(front);
  std::vector<caf::actor> result;
  caf::scoped_actor self{sys};
  self->request(*front, std::chrono::seconds(30), caf::get_atom::value)
    .receive([&](std::vector<caf::actor>& xs, record&) { result = xs; },
             [&](caf::error& err) { FAIL(render(err)); });
  return result;
}

/// Streams `xs` to `dst` from a new actor of `sys` and waits until it is
/// done.
inline void stream_all(caf::actor_system& sys, const caf::actor& dst,
                       std::vector<entry> xs) {
  caf::scoped_actor self{sys};
  self->monitor(sys.spawn(streamer, dst, uint32_t{0}, std::move(xs)));
  bool done = false;
  self->receive([&](caf::down_msg&) { done = true; },
                caf::after(std::chrono::seconds(60)) >> [] {});
  REQUIRE(done);
}

} // namespace supercache::testing
