// Producers outpace a slow cache for seconds: memory stays flat at the bound
// under every overflow policy, and no accepted record is lost.

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <thread>
#include <vector>

#include <unistd.h>

#include "tests/fixture.hpp"

using namespace supercache;

namespace {

/// Returns the resident set size of this process in bytes.
size_t rss_bytes() {
  std::ifstream statm{"/proc/self/statm"};
  size_t pages = 0;
  size_t resident = 0;
  statm >> pages >> resident;
  return resident * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

struct soak_result {
  size_t rss_at_1s = 0;
  size_t rss_max_after_1s = 0;
  uint64_t max_pending = 0;
  int64_t accepted = 0;
  int64_t overloaded = 0;
  int64_t dropped = 0;
};

/// Runs 6 producer threads for `seconds` against one buffer and one
/// partition on 2 scheduler workers: the producers outnumber the workers 3
/// to 1 and outpace the drain. Keys repeat, so the table stops growing early.
soak_result soak(overflow_policy policy, int seconds) {
  testing::threaded_config cfg;
  caf::actor_system sys{cfg};
  testing::facade_stopper stopper;
  options opts;
  opts.buffers = 1;
  opts.partitions = 1;
  opts.max_pending = 500;
  opts.overflow = policy;
  opts.block_timeout = std::chrono::milliseconds(50);
  REQUIRE_EQ(start(sys, opts), caf::none);
  soak_result res;
  std::atomic<bool> running{true};
  std::atomic<int64_t> accepted{0};
  std::atomic<int64_t> overloaded{0};
  std::vector<std::thread> producers;
  for (int64_t t = 0; t < 6; ++t)
    producers.emplace_back([&, t] {
      for (int64_t i = 0; running; ++i) {
        auto err = lazy_put(record::array({t * 100'000 + i % 20'000, i}));
        if (!err)
          ++accepted;
        else if (err == errc::overloaded)
          ++overloaded;
        else
          FAIL("unexpected error: " << render(err));
      }
    });
  // Sample memory and pending records while the producers run.
  auto start_time = std::chrono::steady_clock::now();
  for (;;) {
    auto elapsed = std::chrono::steady_clock::now() - start_time;
    if (elapsed >= std::chrono::seconds(seconds))
      break;
    auto rss = rss_bytes();
    if (elapsed < std::chrono::seconds(1))
      res.rss_at_1s = rss;
    else
      res.rss_max_after_1s = std::max(res.rss_max_after_1s, rss);
    if (auto st = stats())
      res.max_pending = std::max(res.max_pending,
                                 (*st)["pending"].get<uint64_t>());
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  running = false;
  for (auto& p : producers)
    p.join();
  res.accepted = accepted;
  res.overloaded = overloaded;
  REQUIRE_EQ(flush(), caf::none);
  auto st = *stats();
  // Every accepted record is written to the cache, or dropped and counted.
  CHECK_EQ(st["enqueued"].get<int64_t>(), res.accepted);
  CHECK_EQ(st["written"].get<int64_t>() + st["dropped"].get<int64_t>(),
           res.accepted);
  CHECK_EQ(st["pending"].get<int64_t>(), 0);
  res.dropped = st["dropped"].get<int64_t>();
  CHECK_EQ(st["rejected"].get<int64_t>(), res.overloaded);
  REQUIRE_EQ(stop(), caf::none);
  return res;
}

void check_flat(const soak_result& res, bool bounded_pending) {
  CAPTURE(res.accepted);
  CAPTURE(res.overloaded);
  CAPTURE(res.rss_at_1s);
  CAPTURE(res.rss_max_after_1s);
  // Unbounded, producers at ~1M records/s would add hundreds of MB; the
  // bound allows 500 pending records of about 200 bytes each. Under
  // AddressSanitizer, its quarantine (64 MB, see .ci/sanitize), shadow
  // memory and redzones move RSS by more than the records do.
#ifdef SUPERCACHE_SANITIZED
  constexpr int64_t slack = 128 * 1024 * 1024;
#else
  constexpr int64_t slack = 64 * 1024 * 1024;
#endif
  CHECK_LE(res.rss_max_after_1s, res.rss_at_1s + slack);
  if (bounded_pending)
    CHECK_LE(res.max_pending, 500u + 6u);
}

} // namespace

TEST_CASE("under block, memory stays flat while producers outpace the cache "
          "for 3 seconds") {
  auto res = soak(overflow_policy::block, 3);
  // The producers ran into the bound and waited there.
  CHECK_GE(res.max_pending, 400u);
  check_flat(res, true);
}

TEST_CASE("under reject, memory stays flat while producers outpace the cache "
          "for 3 seconds") {
  auto res = soak(overflow_policy::reject, 3);
  CHECK_GT(res.overloaded, 0);
  check_flat(res, true);
}

TEST_CASE("under drop-oldest, memory stays flat while producers outpace the "
          "cache for 3 seconds") {
  auto res = soak(overflow_policy::drop_oldest, 3);
  CHECK_EQ(res.overloaded, 0);
  CHECK_GT(res.dropped, 0);
  // The buffer drops down to the bound; producers wait at twice the bound.
  CHECK_LE(res.max_pending, 2 * 500u + 6u);
  check_flat(res, false);
}
