// Actor-level tests of a front's rejoin request on the test coordinator
// (actors/front.hpp): the links, the leader's front and the partitions are
// actors of the test.

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

  caf::actor part;
  caf::actor leader_front;
  caf::actor connector;
  caf::actor front;
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
