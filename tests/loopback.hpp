#pragma once

/// A cache node and a producer connected to it on loopback, each an
/// `instance` of its own threaded actor system in this process: the set-up
/// of the tests that run a call against a connected cache node.

#include <cstdint>
#include <string>

#include <caf/io/middleman.hpp>

#include <doctest/doctest.h>

#include <supercache/supercache.hpp>

#include "tests/fixture.hpp"

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

} // namespace supercache::testing
