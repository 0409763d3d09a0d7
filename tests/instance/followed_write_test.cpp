// A program that publishes its own cache and writes into it synchronously
// (put, put_batch, erase, clear): once a partition has a follower on
// another node, those writes go through the partition's actor, which
// forwards them, instead of straight into its table. Two threaded actor
// systems in this process on loopback: the leader's and the follower's.

#include <doctest/doctest.h>

#include <chrono>
#include <thread>

#include <caf/io/middleman.hpp>

#include "actors/cache.hpp"
#include "tests/fixture.hpp"
#include "tests/loopback.hpp"

using namespace supercache;

namespace {

/// A cache node (`leader`, published) and a second local cache whose
/// partitions copy and follow the leader's over loopback (`follower`).
struct leader_and_follower {
  leader_and_follower() {
    options opts;
    opts.partitions = 2;
    REQUIRE_EQ(leader.start(opts), caf::none);
    auto port = leader.publish(0);
    REQUIRE(port);
    REQUIRE_EQ(follower.start(opts), caf::none);
    leader.put(record::array({0, "before"})); // in the copy
    auto front = follower_sys.middleman().remote_actor("127.0.0.1", *port);
    REQUIRE(front);
    caf::scoped_actor self{follower_sys};
    std::vector<caf::actor> parts;
    self->request(*front, std::chrono::seconds(10), caf::get_atom::value)
      .receive([&](std::vector<caf::actor>& xs, record&) { parts = xs; },
               [&](caf::error& err) { FAIL(render(err)); });
    REQUIRE_EQ(parts.size(), 2u);
    for (size_t p = 0; p < parts.size(); ++p) {
      auto mine = testing::registered(follower_sys, cache_name(p + 1));
      REQUIRE(mine);
      self->request(mine, std::chrono::seconds(10), rejoin_atom::value,
                    parts[p], caf::node_id{},
                    caf::timespan{std::chrono::seconds(10)})
        .receive([](caf::ok_atom) {},
                 [&](caf::error& err) { FAIL(render(err)); });
    }
  }

  ~leader_and_follower() {
    CHECK_EQ(follower.stop(), caf::none);
    CHECK_EQ(leader.stop(), caf::none);
  }

  /// Waits up to 10 s until the follower's records of `key` are `n`: the
  /// forwards travel on their own; returns the last count seen.
  size_t follower_count(int key, size_t n) {
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    size_t seen = 0;
    do {
      auto xs = follower.get(record::array({key}));
      REQUIRE(xs);
      seen = xs->size();
      if (seen == n)
        break;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    } while (std::chrono::steady_clock::now() < until);
    return seen;
  }

  testing::net_config leader_cfg;
  caf::actor_system leader_sys{leader_cfg};
  instance leader{leader_sys};
  testing::net_config follower_cfg;
  caf::actor_system follower_sys{follower_cfg};
  instance follower{follower_sys};
};

} // namespace

TEST_CASE_FIXTURE(leader_and_follower,
                  "a synchronous put and put_batch into a partition with a "
                  "follower reach the follower, and are visible at return") {
  CHECK_EQ(follower_count(0, 1), 1u); // the copy
  REQUIRE_EQ(leader.put(record::array({1, "one"})), caf::none);
  CHECK_EQ(leader.get(record::array({1}))->size(), 1u);
  std::vector<record> xs;
  for (int k = 2; k < 50; ++k)
    xs.push_back(record::array({k, "v"}));
  REQUIRE_EQ(leader.put_batch(xs), caf::none);
  CHECK_EQ(*leader.size(), 50u);
  CHECK_EQ(follower_count(1, 1), 1u);
  for (int k = 2; k < 50; ++k)
    CHECK_EQ(follower_count(k, 1), 1u);
}

TEST_CASE_FIXTURE(leader_and_follower,
                  "a synchronous erase and clear of a partition with a "
                  "follower reach the follower") {
  REQUIRE_EQ(leader.put(record::array({1, "one"})), caf::none);
  REQUIRE_EQ(leader.put(record::array({2, "two"})), caf::none);
  REQUIRE_EQ(follower_count(2, 1), 1u);
  auto erased = leader.erase(record::array({1}));
  REQUIRE(erased);
  CHECK_EQ(*erased, 1u);
  CHECK_EQ(follower_count(1, 0), 0u);
  auto cleared = leader.clear();
  REQUIRE(cleared);
  CHECK_EQ(*cleared, 2u); // 0 and 2
  CHECK_EQ(follower_count(0, 0), 0u);
  CHECK_EQ(follower_count(2, 0), 0u);
}

TEST_CASE_FIXTURE(leader_and_follower,
                  "inside an actor's handler a synchronous write into a "
                  "partition with a follower is refused with would_deadlock, "
                  "and nothing is written") {
  // The handler answers with the error's rendering ("" for none).
  auto writer = leader_sys.spawn([this](caf::event_based_actor*) {
    return caf::behavior{[this](int key) {
      auto err = leader.put(record::array({key, "in a handler"}));
      return err ? render(err) : std::string{};
    }};
  });
  caf::scoped_actor self{leader_sys};
  std::string what;
  self->request(writer, std::chrono::seconds(10), 7)
    .receive([&](std::string& x) { what = std::move(x); },
             [&](caf::error& x) { FAIL(render(x)); });
  CHECK_NE(what.find("would_deadlock"), std::string::npos);
  CHECK_NE(what.find("partition that has followers"), std::string::npos);
  CHECK(leader.get(record::array({7}))->empty());
  self->send_exit(writer, caf::exit_reason::user_shutdown);
}
