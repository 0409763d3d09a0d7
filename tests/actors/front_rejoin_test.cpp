// Actor-level tests of a front's rejoin request, and of its place when
// configured, on the test coordinator (actors/front.hpp): the links, the
// leader's front and the partitions are actors of the test.

#include <doctest/doctest.h>

#include <set>

#include "actors/front.hpp"
#include "actors/messages.hpp"
#include "tests/fixture.hpp"

using namespace supercache;

namespace {

/// Answers the rejoin requests it gets once told `ok_atom`; counts them.
struct held_partition_state {
  std::vector<caf::response_promise> held;
  size_t requests = 0;
};

caf::behavior held_partition(
  caf::stateful_actor<held_partition_state>* self) {
  return {
    [=](rejoin_atom, caf::actor&, caf::node_id&, caf::timespan) {
      ++self->state.requests;
      self->state.held.push_back(self->make_response_promise());
      return self->state.held.back();
    },
    [=](caf::ok_atom) {
      for (auto& x : self->state.held)
        x.deliver(caf::ok_atom::value);
      self->state.held.clear();
    },
    [=](size_atom) { return static_cast<uint64_t>(self->state.requests); },
    [=](follow_atom, caf::node_id&) { return caf::ok_atom::value; },
  };
}

struct front_rejoin_fixture : testing::fixture {
  front_rejoin_fixture() {
    part = sys.spawn(held_partition);
    auto leader_part = sys.spawn(held_partition);
    leader_front = sys.spawn([=](caf::event_based_actor*) -> caf::behavior {
      return {[=](caf::get_atom) {
        return caf::make_message(std::vector<caf::actor>{leader_part},
                                 record::object());
      }};
    });
    auto front_ptr = caf::actor_cast<caf::strong_actor_ptr>(leader_front);
    auto node = sys.node();
    connector = sys.spawn([=](caf::event_based_actor*) -> caf::behavior {
      return {[=](caf::connect_atom, const std::string&, uint16_t) {
        return caf::make_message(node, front_ptr, std::set<std::string>{});
      }};
    });
    front_hooks hooks;
    hooks.partitions = [p = part] { return std::vector<caf::actor>{p}; };
    hooks.buffers = [] { return std::vector<caf::actor>{}; };
    hooks.settings = [] { return record::object(); };
    hooks.size = []() -> caf::expected<size_t> { return size_t{0}; };
    hooks.stats = []() -> caf::expected<record> { return record::object(); };
    hooks.guards = std::make_shared<guard_counters>();
    hooks.connector = [c = connector]() -> caf::expected<caf::actor> {
      return c;
    };
    hooks.place = [this] { return place; };
    front = sys.spawn(front_actor, std::move(hooks));
    run();
  }

  ~front_rejoin_fixture() {
    for (auto& x : {front, part, leader_front, connector})
      send_local_exit(x, caf::exit_reason::user_shutdown);
    run();
  }

  /// Asks the front to rejoin as `desc` from the leader at `addr`.
  void rejoin(const std::string& desc, const std::string& addr) {
    self->send(front, rejoin_atom::value, desc,
               std::vector<std::string>{addr});
  }

  /// Returns how many rejoin requests the local partition got.
  uint64_t requests() {
    self->send(part, size_atom::value);
    run();
    return receive_as<uint64_t>().value_or(99);
  }

  /// Configures the front as node 2 of `127.0.0.1:1,127.0.0.1:2`, one
  /// partition with a copy on each.
  void configure_place() {
    cluster_place x;
    x.nodes = {"127.0.0.1:1", "127.0.0.1:2"};
    x.index = 1;
    x.partitions = 1;
    x.replicas = 2;
    place = std::make_shared<const cluster_place>(std::move(x));
  }

  /// Returns the place the front reports (`cluster_atom`).
  std::string reported_place() {
    self->send(front, cluster_atom::value);
    run();
    std::string result = "?";
    self->receive([&](std::string& x, uint64_t) { result = std::move(x); },
                  [&](caf::error&) {},
                  caf::after(std::chrono::seconds(0)) >> [] {});
    return result;
  }

  caf::actor part;
  caf::actor leader_front;
  caf::actor connector;
  caf::actor front;
  std::shared_ptr<const cluster_place> place;
};

} // namespace

TEST_CASE_FIXTURE(front_rejoin_fixture,
                  "a second rejoin request while one runs starts no second "
                  "copy and is answered when the first one is") {
  rejoin("node 2 of A", "127.0.0.1:1");
  run();
  rejoin("node 2 of A", "127.0.0.1:2");
  run();
  CHECK_EQ(requests(), 1u);
  CHECK_FALSE(receive_as<caf::ok_atom>().has_value()); // both still wait
  self->send(part, caf::ok_atom::value);
  run();
  CHECK(receive_as<caf::ok_atom>().has_value());
  CHECK(receive_as<caf::ok_atom>().has_value());
  // The node has its place now: a later rejoin is refused.
  rejoin("node 2 of A", "127.0.0.1:1");
  run();
  auto err = receive_error();
  CHECK_NE(render(err).find("already"), std::string::npos);
  CHECK_EQ(requests(), 1u);
}

TEST_CASE_FIXTURE(front_rejoin_fixture,
                  "a rejoin request for another place while one runs is "
                  "refused, naming both places") {
  rejoin("node 2 of A", "127.0.0.1:1");
  run();
  rejoin("node 3 of B", "127.0.0.1:1");
  run();
  auto err = receive_error();
  CHECK_EQ(err.code(), static_cast<uint8_t>(errc::invalid_option));
  CHECK_NE(render(err).find("node 2 of A"), std::string::npos);
  CHECK_NE(render(err).find("node 3 of B"), std::string::npos);
  self->send(part, caf::ok_atom::value);
  run();
  CHECK(receive_as<caf::ok_atom>().has_value());
  CHECK_EQ(requests(), 1u);
}

TEST_CASE_FIXTURE(front_rejoin_fixture,
                  "a front configured with its place refuses a producer that "
                  "places it elsewhere, the first one too, naming both, and "
                  "takes its own place") {
  configure_place();
  auto mine = place->description();
  CHECK_EQ(mine, "node 2 of 127.0.0.1:1,127.0.0.1:2 partitions=1 replicas=2");
  self->send(front, cluster_atom::value,
             std::string{"node 1 of 127.0.0.1:1,127.0.0.1:2 partitions=1 "
                         "replicas=2"});
  run();
  auto err = receive_error();
  REQUIRE(err);
  CHECK_EQ(err.code(), static_cast<uint8_t>(errc::invalid_option));
  CHECK_NE(render(err).find("configured as " + mine), std::string::npos);
  CHECK_NE(render(err).find("places it as node 1 of"), std::string::npos);
  CHECK_EQ(reported_place(), ""); // the refused place was not kept
  self->send(front, cluster_atom::value, mine);
  run();
  CHECK(receive_as<caf::ok_atom>().has_value());
  CHECK_EQ(reported_place(), mine);
}

TEST_CASE_FIXTURE(front_rejoin_fixture,
                  "a front configured with its place rejoins only as that "
                  "place and only from a node the map gives a copy of each "
                  "of its partitions") {
  configure_place();
  auto mine = place->description();
  rejoin("node 1 of 127.0.0.1:1,127.0.0.1:2 partitions=1 replicas=2",
         "127.0.0.1:1");
  run();
  auto err = receive_error();
  REQUIRE(err);
  CHECK_EQ(err.code(), static_cast<uint8_t>(errc::invalid_option));
  CHECK_NE(render(err).find("configured as " + mine), std::string::npos);
  rejoin(mine, "10.0.0.9:7"); // not a node of the cluster
  run();
  err = receive_error();
  REQUIRE(err);
  CHECK_EQ(err.code(), static_cast<uint8_t>(errc::invalid_option));
  CHECK_NE(render(err).find("\"10.0.0.9:7\" as the leader of cache "
                            "partition 1; its other copies are on "
                            "127.0.0.1:1"),
           std::string::npos);
  rejoin(mine, "127.0.0.1:2"); // itself
  run();
  CHECK_NE(render(receive_error()).find("other copies are on 127.0.0.1:1"),
           std::string::npos);
  CHECK_EQ(requests(), 0u);
  rejoin(mine, "127.0.0.1:1");
  run();
  CHECK_EQ(requests(), 1u);
  self->send(part, caf::ok_atom::value);
  run();
  CHECK(receive_as<caf::ok_atom>().has_value());
  CHECK_EQ(reported_place(), mine);
}
