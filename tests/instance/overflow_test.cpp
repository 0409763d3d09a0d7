// Bounded pending records and the overflow policies, through the public API.
// The deterministic cases run on the test coordinator: nothing drains until
// the test (or a blocking call such as flush) runs the scheduler.

#include <doctest/doctest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "tests/fixture.hpp"

using namespace supercache;

namespace {

record make_record(int64_t key) {
  return record::array({key, "value-" + std::to_string(key)});
}

options bounded(overflow_policy policy, size_t max_pending) {
  options opts;
  opts.buffers = 1;
  opts.partitions = 2;
  opts.max_pending = max_pending;
  opts.overflow = policy;
  opts.block_timeout = caf::timespan{0};
  return opts;
}

/// Counts the results of `n` lazy_puts of keys 0..n-1.
struct results {
  size_t accepted = 0;
  size_t overloaded = 0;
  size_t other = 0;
};

results put_keys(int64_t n) {
  results r;
  for (int64_t i = 0; i < n; ++i) {
    auto err = lazy_put(make_record(i));
    if (!err)
      ++r.accepted;
    else if (err == errc::overloaded)
      ++r.overloaded;
    else
      ++r.other;
  }
  return r;
}

size_t counter(const char* name) {
  return (*stats())[name].get<size_t>();
}

bool stored(int64_t key) {
  auto found = get(make_record(key));
  return found && found->size() == 1;
}

} // namespace

TEST_CASE_FIXTURE(testing::fixture,
                  "reject refuses records beyond max-pending with overloaded "
                  "and stores every accepted one") {
  REQUIRE_EQ(start(sys, bounded(overflow_policy::reject, 10)), caf::none);
  auto r = put_keys(100);
  CHECK_EQ(r.accepted, 10u);
  CHECK_EQ(r.overloaded, 90u);
  CHECK_EQ(r.other, 0u);
  CHECK_EQ(counter("pending"), 10u);
  REQUIRE_EQ(flush(), caf::none);
  CHECK_EQ(*size(), 10u);
  for (int64_t i = 0; i < 10; ++i)
    CHECK(stored(i));
  CHECK_EQ(counter("enqueued"), 10u);
  CHECK_EQ(counter("written"), 10u);
  CHECK_EQ(counter("rejected"), 90u);
  CHECK_EQ(counter("pending"), 0u);
  // Once drained, there is room again.
  CHECK_EQ(lazy_put(make_record(500)), caf::none);
  REQUIRE_EQ(stop(), caf::none);
}

TEST_CASE_FIXTURE(testing::fixture,
                  "block gives overloaded once block-timeout passes without "
                  "room") {
  REQUIRE_EQ(start(sys, bounded(overflow_policy::block, 10)), caf::none);
  auto r = put_keys(30);
  CHECK_EQ(r.accepted, 10u);
  CHECK_EQ(r.overloaded, 20u);
  REQUIRE_EQ(flush(), caf::none);
  CHECK_EQ(*size(), 10u);
  CHECK_EQ(counter("rejected"), 20u);
  REQUIRE_EQ(stop(), caf::none);
}

TEST_CASE_FIXTURE(testing::fixture,
                  "drop-oldest accepts every record, drops the oldest ones "
                  "and never reports them as stored") {
  REQUIRE_EQ(start(sys, bounded(overflow_policy::drop_oldest, 10)),
             caf::none);
  // At twice the bound lazy_put waits for the buffer, which here means it
  // runs the test coordinator until the buffer has dropped down to 10.
  auto r = put_keys(100);
  CHECK_EQ(r.accepted, 100u);
  REQUIRE_EQ(flush(), caf::none);
  auto dropped = counter("dropped");
  auto written = counter("written");
  CHECK_EQ(counter("enqueued"), 100u);
  CHECK_EQ(written + dropped, 100u);
  CHECK_GE(dropped, 50u);
  CHECK_EQ(*size(), written);
  // The oldest records went first; the newest ten survive.
  for (int64_t i = 0; i < 10; ++i)
    CHECK_FALSE(stored(i));
  for (int64_t i = 90; i < 100; ++i)
    CHECK(stored(i));
  REQUIRE_EQ(stop(), caf::none);
}

TEST_CASE_FIXTURE(testing::fixture,
                  "a put message beyond max-pending is answered with "
                  "overloaded") {
  REQUIRE_EQ(start(sys, bounded(overflow_policy::reject, 3)), caf::none);
  run_streams();
  auto buf = caf::actor_cast<caf::actor>(sys.registry().get(buffer::name(1)));
  REQUIRE(buf);
  for (int64_t i = 0; i < 3; ++i)
    REQUIRE_EQ(lazy_put(make_record(i)), caf::none);
  self->send(buf, caf::put_atom::value, make_record(3));
  run(); // the buffer handles the three records, then the put
  CHECK_EQ(receive_error(), errc::overloaded);
  REQUIRE_EQ(flush(), caf::none);
  CHECK_EQ(*size(), 3u);
  REQUIRE_EQ(stop(), caf::none);
}

TEST_CASE("block keeps pending records at the bound while producers outpace "
          "the cache, and loses none") {
  testing::threaded_config cfg;
  caf::actor_system sys{cfg};
  testing::facade_stopper stopper;
  auto opts = bounded(overflow_policy::block, 200);
  opts.buffers = 2;
  opts.block_timeout = std::chrono::seconds(30);
  REQUIRE_EQ(start(sys, opts), caf::none);
  std::atomic<bool> producing{true};
  std::atomic<uint64_t> max_pending{0};
  std::thread watcher{[&] {
    while (producing) {
      auto st = stats();
      if (!st)
        break;
      for (auto& b : (*st)["buffers"])
        if (auto p = b["pending"].get<uint64_t>(); p > max_pending)
          max_pending = p;
    }
  }};
  std::atomic<size_t> failures{0};
  std::vector<std::thread> producers;
  for (int64_t t = 0; t < 3; ++t)
    producers.emplace_back([&, t] {
      for (int64_t i = 0; i < 30'000; ++i)
        if (lazy_put(make_record(t * 1'000'000 + i)))
          ++failures;
    });
  for (auto& p : producers)
    p.join();
  producing = false;
  watcher.join();
  CHECK_EQ(failures.load(), 0u);
  // At most max-pending, plus one per producer racing for the last slot.
  CHECK_LE(max_pending.load(), 200u + 3u);
  REQUIRE_EQ(flush(), caf::none);
  CHECK_EQ(*size(), 90'000u);
  CHECK_EQ(counter("rejected"), 0u);
  REQUIRE_EQ(stop(), caf::none);
}
