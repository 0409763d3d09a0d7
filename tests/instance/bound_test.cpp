// The end-to-end bound and the deadlines: `max-pending` counts a record
// until a partition stored it, and a flush racing a dying buffer answers.

#include <doctest/doctest.h>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/fixture.hpp"

using namespace supercache;
using testing::make_record;
using testing::registered;

namespace {

int64_t counter(instance& inst, const char* name) {
  return (*inst.stats())[name].get<int64_t>();
}

} // namespace

TEST_CASE("producers outpacing one partition never have more than "
          "max-pending records accepted and not yet stored") {
  testing::threaded_config cfg{2};
  caf::actor_system sys{cfg};
  instance inst{sys};
  options opts;
  opts.buffers = 1;
  opts.partitions = 1;
  opts.max_pending = 20'000;
  opts.block_timeout = std::chrono::seconds(30);
  REQUIRE_EQ(inst.start(opts), caf::none);
  constexpr int64_t producers = 2;
  constexpr int64_t per_producer = 400'000;
  std::atomic<int64_t> accepted{0};
  std::atomic<int64_t> failures{0};
  std::atomic<bool> producing{true};
  int64_t worst = 0;
  int64_t samples = 0;
  std::thread sampler{[&] {
    while (producing) {
      // Size first: what is accepted after it only makes the gap larger.
      auto stored = static_cast<int64_t>(*inst.size());
      auto gap = accepted.load() - stored;
      worst = std::max(worst, gap);
      ++samples;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }};
  std::vector<std::thread> threads;
  for (int64_t t = 0; t < producers; ++t)
    threads.emplace_back([&, t] {
      for (int64_t i = 0; i < per_producer; ++i) {
        if (inst.lazy_put(make_record(t * 1'000'000'000 + i)))
          ++failures;
        else
          ++accepted;
      }
    });
  for (auto& t : threads)
    t.join();
  producing = false;
  sampler.join();
  MESSAGE("largest accepted - size(): " << worst << " in " << samples
                                         << " samples");
  CHECK_EQ(failures.load(), 0);
  // The bound, one record per producer racing for the last slot, and the
  // records accepted between reading size() and `accepted` (slack).
  CHECK_LE(worst, 20'000 + producers + 1'000);
  CHECK_GT(samples, 0);
  REQUIRE_EQ(inst.flush(), caf::none);
  CHECK_EQ(static_cast<int64_t>(*inst.size()), producers * per_producer);
  REQUIRE_EQ(inst.stop(), caf::none);
}

TEST_CASE("a flush racing a killed buffer returns, and every accepted "
          "record is stored or counted as lost (20 rounds)") {
  testing::threaded_config cfg{2};
  caf::actor_system sys{cfg};
  instance inst{sys};
  options opts;
  opts.buffers = 2;
  opts.partitions = 2;
  opts.call_timeout = std::chrono::seconds(20);
  // Producers wait for room as long as it takes on a loaded machine.
  opts.block_timeout = std::chrono::seconds(20);
  REQUIRE_EQ(inst.start(opts), caf::none);
  std::atomic<bool> producing{true};
  std::mutex mtx;
  std::string first_unexpected;
  std::atomic<int64_t> accepted{0};
  std::atomic<int64_t> unexpected{0};
  std::vector<std::thread> threads;
  for (int64_t t = 0; t < 2; ++t)
    threads.emplace_back([&, t] {
      for (int64_t i = 0; producing; ++i) {
        auto err = inst.lazy_put(make_record(t * 1'000'000'000 + i));
        if (!err)
          ++accepted;
        else if (!(err == errc::not_started)) { // while a buffer is replaced
          if (++unexpected == 1) {
            std::lock_guard<std::mutex> guard{mtx};
            first_unexpected = render(err);
          }
        }
      }
    });
  for (int round = 0; round < 20; ++round) {
    CAPTURE(round);
    std::atomic<bool> go{false};
    std::thread killer{[&] {
      while (!go)
        std::this_thread::yield();
      auto victim = registered(sys, buffer::name(1 + round % 2));
      if (victim)
        supercache::send_local_exit(victim, caf::exit_reason::kill);
    }};
    go = true;
    auto err = inst.flush();
    killer.join();
    CHECK_MESSAGE(!err, render(err));
  }
  producing = false;
  for (auto& t : threads)
    t.join();
  REQUIRE_EQ(inst.flush(), caf::none);
  CHECK_MESSAGE(unexpected.load() == 0, first_unexpected);
  auto stored = static_cast<int64_t>(*inst.size());
  CHECK_EQ(counter(inst, "enqueued"), accepted.load());
  CHECK_EQ(stored + counter(inst, "lost") + counter(inst, "lost_stored")
             + counter(inst, "dropped"),
           accepted.load());
  CHECK_EQ(counter(inst, "pending"), 0);
  REQUIRE_EQ(inst.stop(), caf::none);
}

TEST_CASE_FIXTURE(testing::fixture,
                  "a flush that cannot complete returns timeout after "
                  "call-timeout instead of waiting forever") {
  options opts;
  opts.buffers = 1;
  opts.partitions = 1;
  opts.call_timeout = std::chrono::seconds(2);
  REQUIRE_EQ(cache.start(opts), caf::none);
  // A partition stopped on purpose (user_shutdown) is not restarted: the
  // buffer's barrier for it waits for a replacement that never comes.
  auto part = caf::actor_cast<caf::actor>(sys.registry().get(cache_name(1)));
  REQUIRE(part);
  REQUIRE_EQ(cache.lazy_put(make_record(1)), caf::none);
  supercache::send_local_exit(part, caf::exit_reason::user_shutdown);
  run();
  auto err = cache.flush();
  CHECK_EQ(err, errc::timeout);
  CHECK_NE(render(err).find("buffer_1"), std::string::npos);
  // stop gives up on the buffer the same way, and still ends every actor.
  err = cache.stop();
  CHECK_EQ(err, errc::timeout);
  CHECK_FALSE(cache.running());
}
