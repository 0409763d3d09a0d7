// Actor-level tests of a partition's rejoin messages on the test
// coordinator (actors/cache_follow.hpp); the copy across nodes is in
// tests/node/rejoin_test.cpp.

#include <doctest/doctest.h>

#include "actors/cache_follow.hpp"
#include "tests/fixture.hpp"

using namespace supercache;

namespace {

struct follow_fixture : testing::fixture {
  follow_fixture() {
    part = sys.spawn(cache_actor, uint32_t{0}, uint32_t{1}, tbl,
                     std::shared_ptr<counter_board>{}, guards);
    run();
  }

  ~follow_fixture() {
    send_local_exit(part, caf::exit_reason::user_shutdown);
    run();
  }

  /// `n` packed records for partition 0.
  std::vector<entry> batch(int n) {
    std::vector<entry> result;
    for (int i = 0; i < n; ++i) {
      entry x;
      x.value = packed::pack(record::array({i, "v"}), layout).first;
      result.push_back(std::move(x));
    }
    return result;
  }

  record_layout layout;
  std::shared_ptr<table> tbl = std::make_shared<table>(table_type::set,
                                                       layout);
  guard_counters_ptr guards = std::make_shared<guard_counters>();
  caf::actor part;
};

} // namespace

TEST_CASE_FIXTURE(follow_fixture,
                  "a partition without a leader stores no copied records: "
                  "they are counted refused") {
  self->send(part, copy_atom::value, batch(3));
  run();
  CHECK_EQ(tbl->size(), 0u);
  CHECK_EQ(guards->refused_records.load(), 3u);
}

TEST_CASE_FIXTURE(follow_fixture,
                  "a partition refuses to follow a leader on its own node, "
                  "and then takes no copy from it") {
  auto other = sys.spawn(cache_actor, uint32_t{0}, uint32_t{1},
                         std::make_shared<table>(table_type::set, layout),
                         std::shared_ptr<counter_board>{}, guards);
  self->send(part, rejoin_atom::value, other, sys.node(),
             caf::timespan{std::chrono::seconds(1)});
  run();
  auto err = receive_error();
  CHECK_EQ(err.code(), static_cast<uint8_t>(errc::invalid_option));
  CHECK_NE(render(err).find("not on another node"), std::string::npos);
  caf::send_as(other, part, copy_atom::value, batch(2));
  run();
  CHECK_EQ(tbl->size(), 0u);
  CHECK_EQ(guards->refused_records.load(), 2u);
  send_local_exit(other, caf::exit_reason::user_shutdown);
}

TEST_CASE_FIXTURE(follow_fixture,
                  "a partition without a leader answers a front's follow "
                  "request at once") {
  self->send(part, follow_atom::value, sys.node());
  run();
  CHECK(receive_as<caf::ok_atom>().has_value());
}

TEST_CASE_FIXTURE(follow_fixture,
                  "a drop or a vouch from an actor that is not the "
                  "partition's leader is refused and counted, and an "
                  "acknowledgment from one that is not its follower changes "
                  "nothing") {
  self->send(part, dropped_atom::value);
  self->send(part, vouch_atom::value, sys.node());
  self->send(part, copied_atom::value, uint64_t{5});
  run();
  CHECK_EQ(guards->refused.load(), 2u);
  CHECK_EQ(guards->unexpected.load(), 0u);
  self->send(part, copy_atom::value, batch(1)); // still no leader
  run();
  CHECK_EQ(tbl->size(), 0u);
}
