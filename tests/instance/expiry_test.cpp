// Expiry (`ttl`) and the size bound (`max-records`) of an instance on the
// test coordinator: simulated time, exact counts.

#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>

#include "tests/fixture.hpp"

using namespace supercache;
using namespace std::chrono_literals;

TEST_CASE_FIXTURE(testing::fixture,
                  "with a ttl an instance's get and size see a put record "
                  "until ttl and stats count it expired at ttl") {
  options opts;
  opts.buffers = 1;
  opts.partitions = 2;
  opts.ttl = 1s;
  REQUIRE_EQ(cache.start(opts), caf::none);
  auto t0 = sched.clock().now();
  for (int64_t i = 0; i < 10; ++i)
    REQUIRE_EQ(cache.put(testing::make_record(i)), caf::none);
  REQUIRE(sched.clock().now() == t0); // the puts took no simulated time
  run_streams(999ms);
  CHECK_EQ(cache.get(testing::make_record(3))->size(), 1u);
  CHECK_EQ(*cache.size(), 10u);
  run_streams(1ms);
  CHECK(cache.get(testing::make_record(3))->empty());
  CHECK_EQ(*cache.size(), 0u);
  auto stats = cache.stats();
  REQUIRE(stats);
  CHECK_EQ((*stats)["expired"], 10);
  CHECK_EQ((*stats)["evicted"], 0);
  CHECK_EQ((*stats)["records"], 0);
}

TEST_CASE_FIXTURE(testing::fixture,
                  "with max-records a partition keeps that many records of "
                  "lazy_put and stats count the rest evicted") {
  for (auto type : {table_type::set, table_type::bag}) {
    CAPTURE(to_string(type));
    options opts;
    opts.buffers = 1;
    opts.partitions = 1;
    opts.type = type;
    opts.max_records = 5;
    REQUIRE_EQ(cache.start(opts), caf::none);
    for (int64_t i = 0; i < 12; ++i)
      REQUIRE_EQ(cache.lazy_put(testing::make_record(i)), caf::none);
    for (int64_t i = 0; i < 12; ++i) // rewrites: neither stored nor evicted
      REQUIRE_EQ(cache.lazy_put(testing::make_record(11)), caf::none);
    REQUIRE_EQ(cache.flush(), caf::none);
    CHECK_EQ(*cache.size(), 5u);
    auto stats = cache.stats();
    REQUIRE(stats);
    CHECK_EQ((*stats)["evicted"], 7);
    CHECK_EQ((*stats)["expired"], 0);
    CHECK_EQ(cache.get(testing::make_record(11))->size(), 1u);
    REQUIRE_EQ(cache.stop(), caf::none);
  }
}
