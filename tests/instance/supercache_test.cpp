// Threaded integration tests of the guarantees, on the real scheduler with 2
// and 4 workers. No sleeps: threads synchronize on atomics and joins.

#include <doctest/doctest.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <caf/actor_registry.hpp>

#include "tests/fixture.hpp"

using namespace supercache;

namespace {

/// An actor system with `workers` scheduler workers and supercache configured.
struct system_with {
  using config = testing::threaded_config;

  explicit system_with(size_t workers) : cfg(workers), sys(cfg) {
    // nop
  }

  ~system_with() {
    // Never leave a running instance behind: ~actor_system would hang.
    supercache::stop();
  }

  config cfg;
  caf::actor_system sys;
};

record make_record(int64_t key, int64_t value) {
  return record::array({key, "value-" + std::to_string(value)});
}

/// Returns the stored value of `key`, or -1.
int64_t stored_value(int64_t key) {
  auto found = get(make_record(key, 0));
  if (!found || found->size() != 1)
    return -1;
  auto& text = (*found)[0][1].get_ref<const std::string&>();
  return std::stoll(text.substr(6));
}

/// Runs `n` threads of `f(thread_id)` and joins them.
template <class F>
void in_threads(size_t n, F f) {
  std::vector<std::thread> threads;
  for (size_t i = 0; i < n; ++i)
    threads.emplace_back(f, i);
  for (auto& t : threads)
    t.join();
}

/// Counts of a producer that runs until `lazy_put` refuses.
struct race_result {
  std::atomic<int64_t> accepted{0};
  std::atomic<int64_t> refused{0};
  std::atomic<int64_t> other_errors{0};
};

/// Producers write distinct keys until lazy_put returns not_started; `stopper`
/// runs once at least `before_stop` records were accepted.
template <class Stopper>
void race_producers_against(size_t producers, int64_t before_stop,
                            race_result& res, Stopper stopper) {
  std::thread stop_thread{[&] {
    while (res.accepted.load() < before_stop)
      std::this_thread::yield();
    stopper();
  }};
  in_threads(producers, [&](size_t id) {
    for (int64_t i = 0;; ++i) {
      auto key = static_cast<int64_t>(id) * 100'000'000 + i;
      auto err = lazy_put(make_record(key, i));
      if (!err) {
        res.accepted.fetch_add(1);
      } else if (err == errc::not_started) {
        res.refused.fetch_add(1);
        return;
      } else {
        res.other_errors.fetch_add(1);
        return;
      }
    }
  });
  stop_thread.join();
}

} // namespace

TEST_CASE("lazy_put works right after start returns") {
  for (size_t workers : {2u, 4u}) {
    system_with s{workers};
    REQUIRE_EQ(start(s.sys), caf::none);
    CHECK_EQ(lazy_put(make_record(1, 1)), caf::none);
    REQUIRE_EQ(flush(), caf::none);
    CHECK_EQ(stored_value(1), 1);
    REQUIRE_EQ(stop(), caf::none);
  }
}

TEST_CASE("every accepted lazy_put from several threads is visible after "
          "flush") {
  for (size_t workers : {2u, 4u}) {
    system_with s{workers};
    REQUIRE_EQ(start(s.sys), caf::none);
    constexpr int64_t per_thread = 25'000;
    std::atomic<int64_t> accepted{0};
    in_threads(4, [&](size_t id) {
      for (int64_t i = 0; i < per_thread; ++i)
        if (!lazy_put(make_record(static_cast<int64_t>(id) * per_thread + i, i)))
          accepted.fetch_add(1);
    });
    REQUIRE_EQ(accepted.load(), 4 * per_thread);
    REQUIRE_EQ(flush(), caf::none);
    CHECK_EQ(*size(), static_cast<size_t>(4 * per_thread));
    int64_t missing = 0;
    for (int64_t i = 0; i < 4 * per_thread; ++i)
      if (stored_value(i) != i % per_thread)
        ++missing;
    CHECK_EQ(missing, 0);
    REQUIRE_EQ(stop(), caf::none);
  }
}

TEST_CASE("flush from any thread concurrently with producers covers every "
          "lazy_put that returned before it") {
  for (size_t workers : {2u, 4u}) {
    system_with s{workers};
    REQUIRE_EQ(start(s.sys), caf::none);
    std::atomic<int64_t> violations{0};
    std::atomic<int64_t> flushes{0};
    std::atomic<bool> producing{true};
    // A bystander thread flushes continuously while producers run.
    std::thread bystander{[&] {
      while (producing.load())
        if (!flush())
          flushes.fetch_add(1);
    }};
    in_threads(2, [&](size_t id) {
      for (int64_t i = 0; i < 20'000; ++i) {
        auto key = static_cast<int64_t>(id) * 1'000'000 + i;
        REQUIRE_EQ(lazy_put(make_record(key, i)), caf::none);
        if (i % 1000 == 999) {
          // Each producer flushes and must see its own latest record.
          REQUIRE_EQ(flush(), caf::none);
          flushes.fetch_add(1);
          if (stored_value(key) != i)
            violations.fetch_add(1);
        }
      }
    });
    producing = false;
    bystander.join();
    CHECK_EQ(violations.load(), 0);
    CHECK_GE(flushes.load(), 40);
    REQUIRE_EQ(flush(), caf::none);
    CHECK_EQ(*size(), 40'000u);
    REQUIRE_EQ(stop(), caf::none);
  }
}

TEST_CASE("the last lazy_put of a key wins for every producer thread") {
  for (size_t workers : {2u, 4u}) {
    system_with s{workers};
    REQUIRE_EQ(start(s.sys), caf::none);
    constexpr int64_t keys = 2'000;
    constexpr int64_t versions = 20;
    in_threads(2, [&](size_t id) {
      // Versions interleave across keys so they span many batches.
      for (int64_t v = 0; v < versions; ++v)
        for (int64_t k = 0; k < keys; ++k)
          REQUIRE_EQ(lazy_put(make_record(static_cast<int64_t>(id) * keys + k,
                                          v)),
                     caf::none);
    });
    REQUIRE_EQ(flush(), caf::none);
    int64_t wrong = 0;
    for (int64_t k = 0; k < 2 * keys; ++k)
      if (stored_value(k) != versions - 1)
        ++wrong;
    CHECK_EQ(wrong, 0);
    CHECK_EQ(*size(), static_cast<size_t>(2 * keys));
    REQUIRE_EQ(stop(), caf::none);
  }
}

TEST_CASE("buffer::stop drains every accepted record and the cache keeps "
          "running") {
  system_with s{2};
  REQUIRE_EQ(start(s.sys), caf::none);
  in_threads(2, [&](size_t id) {
    for (int64_t i = 0; i < 30'000; ++i)
      REQUIRE_EQ(lazy_put(make_record(static_cast<int64_t>(id) * 30'000 + i, i)),
                 caf::none);
  });
  REQUIRE_EQ(buffer::stop(), caf::none);
  CHECK_EQ(*size(), 60'000u);
  CHECK_EQ(lazy_put(make_record(1, 1)), errc::not_started);
  CHECK_EQ(put(make_record(-1, 7)), caf::none);
  CHECK_EQ(stored_value(-1), 7);
  REQUIRE_EQ(stop(), caf::none);
}

TEST_CASE("buffer::stop racing producers loses no accepted record") {
  for (size_t workers : {2u, 4u}) {
    system_with s{workers};
    REQUIRE_EQ(start(s.sys), caf::none);
    race_result res;
    caf::error stop_result;
    race_producers_against(3, 20'000, res,
                           [&] { stop_result = buffer::stop(); });
    CHECK_EQ(stop_result, caf::none);
    CHECK_EQ(res.other_errors.load(), 0);
    CHECK_EQ(res.refused.load(), 3);
    CHECK_GE(res.accepted.load(), 20'000);
    CHECK_EQ(*size(), static_cast<size_t>(res.accepted.load()));
    REQUIRE_EQ(stop(), caf::none);
  }
}

TEST_CASE("stop racing producers loses no accepted record") {
  for (size_t workers : {2u, 4u}) {
    system_with s{workers};
    REQUIRE_EQ(start(s.sys), caf::none);
    race_result res;
    caf::error stop_result;
    race_producers_against(3, 20'000, res, [&] { stop_result = stop(); });
    CHECK_EQ(stop_result, caf::none);
    CHECK_EQ(res.other_errors.load(), 0);
    CHECK_EQ(res.refused.load(), 3);
    CHECK_EQ(*last_stop_size(), static_cast<size_t>(res.accepted.load()));
  }
}

TEST_CASE("lazy_put before start and after stop returns not_started") {
  CHECK_EQ(lazy_put(make_record(1, 1)), errc::not_started);
  CHECK_EQ(buffer::enqueue(make_record(1, 1)), errc::not_started);
  CHECK_EQ(flush(), errc::not_started);
  CHECK_EQ(put(make_record(1, 1)), errc::not_started);
  CHECK_EQ(get(make_record(1, 1)).error(), errc::not_started);
  CHECK_EQ(size().error(), errc::not_started);
  CHECK_EQ(stop(), errc::not_started);
  CHECK_EQ(buffer::stop(), errc::not_started);
  system_with s{2};
  REQUIRE_EQ(start(s.sys), caf::none);
  REQUIRE_EQ(stop(), caf::none);
  CHECK_EQ(lazy_put(make_record(1, 1)), errc::not_started);
  CHECK_EQ(stop(), errc::not_started);
}

TEST_CASE("a second start returns already_started") {
  system_with s{2};
  REQUIRE_EQ(start(s.sys), caf::none);
  CHECK_EQ(start(s.sys), errc::already_started);
  CHECK_EQ(buffer::start(s.sys, 2), errc::already_started);
  REQUIRE_EQ(stop(), caf::none);
  // A stopped instance starts again.
  REQUIRE_EQ(start(s.sys), caf::none);
  CHECK_EQ(lazy_put(make_record(5, 5)), caf::none);
  REQUIRE_EQ(flush(), caf::none);
  CHECK_EQ(stored_value(5), 5);
  REQUIRE_EQ(stop(), caf::none);
}

TEST_CASE("buffer::start rejects 0 and more than 999 buffers and needs a "
          "running cache") {
  system_with s{2};
  CHECK_EQ(buffer::start(s.sys, 1), errc::not_started);
  REQUIRE_EQ(start(s.sys), caf::none);
  REQUIRE_EQ(buffer::stop(), caf::none);
  CHECK_EQ(buffer::start(s.sys, 0), errc::invalid_option);
  CHECK_EQ(buffer::start(s.sys, 1000), errc::invalid_option);
  REQUIRE_EQ(buffer::start(s.sys, 3), caf::none);
  CHECK_NE(s.sys.registry().get(buffer::name(3)), nullptr);
  CHECK_EQ(lazy_put(make_record(9, 9)), caf::none);
  REQUIRE_EQ(flush(), caf::none);
  CHECK_EQ(stored_value(9), 9);
  REQUIRE_EQ(stop(), caf::none);
}

TEST_CASE("an invalid record returns invalid_record and is never stored") {
  system_with s{2};
  REQUIRE_EQ(start(s.sys), caf::none);
  CHECK_EQ(lazy_put(record{{"key", 1}}), errc::invalid_record);
  CHECK_EQ(lazy_put(record("text")), errc::invalid_record);
  CHECK_EQ(lazy_put(record::array()), errc::invalid_record);
  CHECK_EQ(put(record(42)), errc::invalid_record);
  CHECK_EQ(get(record::array()).error(), errc::invalid_record);
  REQUIRE_EQ(flush(), caf::none);
  CHECK_EQ(*size(), 0u);
  REQUIRE_EQ(stop(), caf::none);
}

TEST_CASE("invalid options make start fail with invalid_option and start "
          "nothing") {
  system_with s{2};
  options opts;
  opts.buffers = 1000;
  CHECK_EQ(start(s.sys, opts), errc::invalid_option);
  CHECK_EQ(s.sys.registry().get(cache_name(1)), nullptr);
  CHECK_EQ(lazy_put(make_record(1, 1)), errc::not_started);
}

TEST_CASE("put is visible to get when it returns") {
  system_with s{2};
  REQUIRE_EQ(start(s.sys), caf::none);
  for (int64_t i = 0; i < 100; ++i) {
    REQUIRE_EQ(put(make_record(i, i)), caf::none);
    CHECK_EQ(stored_value(i), i);
  }
  REQUIRE_EQ(stop(), caf::none);
}

TEST_CASE("a bag table keeps every distinct record of a key") {
  system_with s{2};
  options opts;
  opts.type = table_type::bag;
  REQUIRE_EQ(start(s.sys, opts), caf::none);
  for (int64_t v = 0; v < 5; ++v) {
    REQUIRE_EQ(lazy_put(make_record(1, v)), caf::none);
    REQUIRE_EQ(lazy_put(make_record(1, v)), caf::none);
  }
  REQUIRE_EQ(flush(), caf::none);
  CHECK_EQ(get(make_record(1, 0))->size(), 5u);
  CHECK_EQ(*size(), 5u);
  REQUIRE_EQ(stop(), caf::none);
}

TEST_CASE("after stop no supercache actor is alive and no name is left in "
          "the registry") {
  system_with s{4};
  options opts;
  opts.buffers = 3;
  opts.partitions = 5;
  REQUIRE_EQ(start(s.sys, opts), caf::none);
  // 3 buffers, 5 partitions, the supervisor and the front.
  CHECK_EQ(s.sys.registry().running(), 10u);
  CHECK_NE(s.sys.registry().get(instance::front_name()), nullptr);
  for (size_t i = 1; i <= 3; ++i)
    CHECK_NE(s.sys.registry().get(buffer::name(i)), nullptr);
  for (size_t i = 1; i <= 5; ++i)
    CHECK_NE(s.sys.registry().get(cache_name(i)), nullptr);
  REQUIRE_EQ(lazy_put(make_record(1, 1)), caf::none);
  REQUIRE_EQ(stop(), caf::none);
  CHECK_EQ(s.sys.registry().running(), 0u);
  for (size_t i = 1; i <= 3; ++i)
    CHECK_EQ(s.sys.registry().get(buffer::name(i)), nullptr);
  for (size_t i = 1; i <= 5; ++i)
    CHECK_EQ(s.sys.registry().get(cache_name(i)), nullptr);
  CHECK_EQ(s.sys.registry().get(instance::front_name()), nullptr);
}

TEST_CASE("start fails with already_started when a name is taken and leaves "
          "nothing running") {
  system_with s{2};
  auto squatter = s.sys.spawn([]() -> caf::behavior {
    return {[](int) {}};
  });
  s.sys.registry().put(buffer::name(2), caf::actor_cast<caf::strong_actor_ptr>(
                                          squatter));
  options opts;
  opts.buffers = 2;
  auto err = start(s.sys, opts);
  CHECK_EQ(err, errc::already_started);
  CHECK_NE(render(err).find("buffer_2"), std::string::npos);
  CHECK_EQ(s.sys.registry().get(buffer::name(1)), nullptr);
  CHECK_EQ(s.sys.registry().get(cache_name(1)), nullptr);
  CHECK_EQ(lazy_put(make_record(1, 1)), errc::not_started);
  s.sys.registry().erase(buffer::name(2));
  caf::anon_send_exit(squatter, caf::exit_reason::user_shutdown);
}

TEST_CASE("stats count batches and time 1 in 16 lazy_puts until visible") {
  system_with s{2};
  REQUIRE_EQ(start(s.sys), caf::none);
  for (int64_t i = 0; i < 1600; ++i)
    REQUIRE_EQ(lazy_put(make_record(i, i)), caf::none);
  REQUIRE_EQ(flush(), caf::none);
  auto st = stats();
  REQUIRE(st);
  CHECK_EQ((*st)["records"].get<size_t>(), 1600u);
  CHECK_GE((*st)["batches"].get<size_t>(), 1u);
  // Each producer thread stamps every 16th record, starting with its first.
  CHECK_EQ((*st)["latency_us"]["samples"].get<size_t>(), 100u);
  CHECK_GT((*st)["latency_us"]["max"].get<double>(), 0.0);
  REQUIRE_EQ(stop(), caf::none);
}

TEST_CASE("the allocator chosen at build time is the one in effect") {
  if (mimalloc_linked())
    CHECK_EQ(std::string{allocator()}, "mimalloc");
  else
    CHECK_EQ(std::string{allocator()}, "system");
}

TEST_CASE("return_freed_pages sets mimalloc's decommit delay only where "
          "mimalloc is in effect and the operator left it unset") {
  ::setenv("MIMALLOC_DECOMMIT_DELAY", "250", 1);
  CHECK_FALSE(return_freed_pages());
  ::unsetenv("MIMALLOC_DECOMMIT_DELAY");
  CHECK_EQ(return_freed_pages(), std::string{allocator()} == "mimalloc");
}
