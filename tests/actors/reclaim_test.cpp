// Actor-level tests of a cache partition's expiry timer on the test
// coordinator: simulated time, no sleeps.

#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <memory>

#include "tests/fixture.hpp"

using namespace supercache;
using namespace std::chrono_literals;

namespace {

/// One cache partition with a `ttl` of 1 s over its own table.
struct expiring_fixture : testing::fixture {
  expiring_fixture()
    : data(std::make_shared<table>(table_type::set, record_layout{},
                                   table_limits{1s, 0, &sys.clock()})),
      cache(sys.spawn(cache_actor, uint32_t{0}, uint32_t{1}, data,
                      std::shared_ptr<counter_board>{}, guard_counters_ptr{})) {
    run();
  }

  ~expiring_fixture() {
    send_local_exit(cache, caf::exit_reason::user_shutdown);
    run();
  }

  std::shared_ptr<table> data;
  caf::actor cache;
};

std::string key(int k) {
  return key_of(record::array({k}), record_layout{});
}

} // namespace

TEST_CASE_FIXTURE(expiring_fixture,
                  "a partition's timer removes every expired record at ttl "
                  "and counts each as expired, without a read") {
  for (int i = 0; i < 100; ++i)
    data->insert(testing::make_record(i));
  run_streams(999ms);
  CHECK_EQ(data->expired(), 0u);
  CHECK_EQ(data->order_entries(), 100u);
  CHECK_EQ(data->get(key(7)).size(), 1u);
  run_streams(1ms); // the timer's 8th period (ttl/8 = 125 ms) ends at ttl
  CHECK_EQ(data->expired(), 100u);
  CHECK_EQ(data->order_entries(), 0u);
  CHECK_EQ(data->size(), 0u);
}

TEST_CASE_FIXTURE(expiring_fixture,
                  "a partition ignores a reclaim message that is not from "
                  "its own timer") {
  for (int i = 0; i < 10; ++i)
    data->insert(testing::make_record(i));
  // Time passes without firing the timer; a forged tick arrives.
  sched.clock().current_time += 2s;
  self->send(cache, reclaim_atom::value);
  run();
  CHECK_EQ(data->expired(), 0u);
  CHECK_EQ(data->order_entries(), 10u);
  sched.clock().trigger_timeouts();
  run();
  CHECK_EQ(data->expired(), 10u);
}

TEST_CASE_FIXTURE(expiring_fixture,
                  "a partition's stats count expired and evicted records") {
  data->insert(testing::make_record(1));
  run_streams(1s);
  self->send(cache, stats_atom::value);
  run();
  auto stats = receive_as<record>();
  REQUIRE(stats.has_value());
  CHECK_EQ((*stats)["expired"], 1);
  CHECK_EQ((*stats)["evicted"], 0);
  CHECK_EQ((*stats)["records"], 0);
}
