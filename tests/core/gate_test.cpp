// Unit tests of the gate that keeps `buffer::stop` from losing records.

#include <doctest/doctest.h>

#include <atomic>
#include <memory>
#include <thread>

#include "core/gate.hpp"

using supercache::gate;

TEST_CASE("a closed gate admits nobody and an open gate admits everybody") {
  gate g;
  CHECK_FALSE(gate::pass{g}.admitted());
  g.open();
  CHECK(gate::pass{g}.admitted());
  g.close();
  CHECK_FALSE(gate::pass{g}.admitted());
  CHECK(g.drained());
}

TEST_CASE("a closed gate is drained only once every admitted pass has left") {
  gate g;
  g.open();
  auto first = std::make_unique<gate::pass>(g);
  auto second = std::make_unique<gate::pass>(g);
  g.close();
  CHECK_FALSE(g.drained());
  first.reset();
  CHECK_FALSE(g.drained());
  second.reset();
  CHECK(g.drained());
}

TEST_CASE("close_and_wait returns only after a producer on another thread "
          "leaves") {
  gate g;
  g.open();
  std::atomic<bool> inside{false};
  std::atomic<bool> release{false};
  std::atomic<bool> closed{false};
  std::thread producer{[&] {
    gate::pass pass{g};
    REQUIRE(pass.admitted());
    inside = true;
    while (!release)
      std::this_thread::yield();
  }};
  while (!inside)
    std::this_thread::yield();
  std::thread closer{[&] {
    g.close_and_wait();
    closed = true;
  }};
  while (g.is_open())
    std::this_thread::yield();
  // The closer cannot finish while the producer holds its pass.
  CHECK_FALSE(closed.load());
  CHECK_FALSE(gate::pass{g}.admitted());
  release = true;
  producer.join();
  closer.join();
  CHECK(closed.load());
}
