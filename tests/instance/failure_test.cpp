// A failing cache: partitions and buffers that die are replaced, and every
// accepted record is either stored or counted as lost.

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

#include <caf/actor_registry.hpp>

#include "tests/fixture.hpp"

using namespace supercache;

namespace {

record make_record(int64_t key) {
  return record::array({key, "value-" + std::to_string(key)});
}

caf::actor registered(caf::actor_system& sys, caf::atom_value name) {
  return caf::actor_cast<caf::actor>(sys.registry().get(name));
}

size_t counter(const char* name) {
  return (*stats())[name].get<size_t>();
}

/// Runs `producers` threads that put distinct keys until `stop_at` records
/// were accepted in total and `disturb()` ran each time the total passed
/// another `every` records. Keys start at `first_key` for each thread.
/// Returns the number of accepted records.
template <class Disturb>
int64_t produce_while(int64_t producers, int64_t stop_at, int64_t every,
                      std::atomic<int64_t>& refused, Disturb disturb,
                      int64_t first_key = 0) {
  std::atomic<int64_t> accepted{0};
  std::atomic<bool> disturbed_all{false};
  std::thread disturber{[&] {
    for (int64_t next = every; next < stop_at; next += every) {
      while (accepted.load() < next)
        std::this_thread::yield();
      disturb();
    }
    disturbed_all = true;
  }};
  std::vector<std::thread> threads;
  for (int64_t t = 0; t < producers; ++t)
    threads.emplace_back([&, t] {
      for (int64_t i = 0; accepted.load() < stop_at || !disturbed_all; ++i) {
        auto err = lazy_put(make_record(first_key + t * 1'000'000'000 + i));
        if (!err)
          ++accepted;
        else if (err == errc::not_started)
          ++refused;
        else
          FAIL("unexpected error: " << render(err));
      }
    });
  for (auto& t : threads)
    t.join();
  disturber.join();
  return accepted.load();
}

/// Kills the actor registered as `name` in `sys`, if any, with
/// `send_local_exit`; counts the kills.
struct killer {
  caf::actor_system& sys;
  size_t kills = 0;

  bool operator()(caf::atom_value name) {
    auto victim = registered(sys, name);
    if (!victim)
      return false;
    send_local_exit(victim, caf::exit_reason::kill);
    ++kills;
    return true;
  }
};

} // namespace

TEST_CASE("partitions killed repeatedly under load are restarted and every "
          "accepted record is stored or counted as lost") {
  testing::threaded_config cfg;
  caf::actor_system sys{cfg};
  testing::facade_stopper stopper;
  options opts;
  opts.buffers = 2;
  opts.partitions = 2;
  REQUIRE_EQ(start(sys, opts), caf::none);
  std::atomic<int64_t> refused{0};
  killer kill{sys};
  auto accepted = produce_while(2, 200'000, 25'000, refused, [&] {
    REQUIRE(kill(cache_name(1 + kill.kills % 2)));
  });
  REQUIRE_EQ(flush(), caf::none);
  CHECK_EQ(refused.load(), 0);
  CHECK_GE(kill.kills, 7u);
  auto stored = *size();
  auto lost = counter("lost") + counter("lost_stored");
  CHECK_EQ(stored + lost, static_cast<size_t>(accepted));
  // The partitions run again, under their names.
  for (size_t i = 1; i <= 2; ++i)
    CHECK(registered(sys, cache_name(i)));
  REQUIRE_EQ(lazy_put(make_record(-1)), caf::none);
  REQUIRE_EQ(flush(), caf::none);
  CHECK_EQ(get(make_record(-1))->size(), 1u);
  REQUIRE_EQ(stop(), caf::none);
}

TEST_CASE("a killed buffer is replaced while producers run: they see no "
          "error but not_started, and every accepted record is stored or "
          "counted as lost") {
  testing::threaded_config cfg;
  caf::actor_system sys{cfg};
  testing::facade_stopper stopper;
  options opts;
  opts.buffers = 2;
  opts.partitions = 2;
  REQUIRE_EQ(start(sys, opts), caf::none);
  std::atomic<int64_t> refused{0};
  int64_t accepted = 0;
  killer kill{sys};
  constexpr int64_t rounds = 4;
  for (int64_t round = 0; round < rounds; ++round) {
    // Four kills a round, alternating buffers, while two producers run;
    // they fail the test on any error but not_started (counted in
    // `refused`).
    accepted += produce_while(
      2, 50'000, 10'000, refused,
      [&] { REQUIRE(kill(buffer::name(1 + kill.kills % 2))); },
      round * 10'000'000);
    // Until the supervisor has replaced the last one, a flush that reaches
    // the dead buffer says not_started.
    caf::error flushed;
    for (int i = 0; i < 1000; ++i) {
      flushed = flush();
      if (!flushed)
        break;
      REQUIRE_MESSAGE(flushed == errc::not_started, render(flushed));
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    REQUIRE_EQ(flushed, caf::none);
    // Exact after every round: what a dead buffer held is counted as lost,
    // what it had shipped is stored (the flush waited for it).
    auto stored = *size();
    CHECK_EQ(counter("enqueued"), static_cast<size_t>(accepted));
    CHECK_EQ(stored + counter("lost") + counter("lost_stored")
               + counter("dropped"),
             static_cast<size_t>(accepted));
    CHECK_EQ(counter("pending"), 0u);
  }
  MESSAGE("accepted " << accepted << ", refused (not_started) "
                      << refused.load() << ", lost " << counter("lost"));
  CHECK_EQ(kill.kills, 4u * rounds);
  CHECK_EQ(counter("lost_stored"), 0u);
  for (size_t i = 1; i <= 2; ++i)
    CHECK(registered(sys, buffer::name(i)));
  REQUIRE_EQ(lazy_put(make_record(-1)), caf::none);
  REQUIRE_EQ(flush(), caf::none);
  CHECK_EQ(get(make_record(-1))->size(), 1u);
  REQUIRE_EQ(stop(), caf::none);
}

TEST_CASE_FIXTURE(testing::fixture,
                  "a record whose insertion throws is counted and the rest of "
                  "its batch is stored") {
  record_layout layout;
  auto tbl = std::make_shared<table>(table_type::set, layout);
  auto bad = packed::pack(make_record(13), layout).first;
  tbl->inject_faults([bad](const packed& x) {
    if (x == bad)
      throw std::runtime_error("injected failure");
  });
  auto part = sys.spawn(cache_actor, uint32_t{0}, uint32_t{1}, tbl,
                       std::shared_ptr<counter_board>{}, guard_counters_ptr{});
  auto buf = sys.spawn(buffer_actor, std::vector<caf::actor>{part},
                       buffer_settings{layout});
  run_streams();
  for (int64_t i = 0; i < 100; ++i)
    caf::anon_send(buf, caf::put_atom::value, make_record(i));
  self->send(buf, caf::flush_atom::value);
  run_streams();
  CHECK(receive_as<caf::ok_atom>().has_value());
  CHECK_EQ(tbl->size(), 99u);
  CHECK_EQ(tbl->failed(), 1u);
  CHECK(tbl->get(key_of(make_record(13), layout)).empty());
  CHECK_EQ(tbl->get(key_of(make_record(14), layout)).size(), 1u);
  supercache::send_local_exit(buf, caf::exit_reason::user_shutdown);
  supercache::send_local_exit(part, caf::exit_reason::user_shutdown);
  run_streams();
}

TEST_CASE("partitions and buffers killed alternately under load are "
          "replaced, and stored + lost + lost_stored + dropped equals "
          "accepted exactly") {
  testing::threaded_config cfg;
  caf::actor_system sys{cfg};
  testing::facade_stopper stopper;
  options opts;
  opts.buffers = 2;
  opts.partitions = 2;
  REQUIRE_EQ(start(sys, opts), caf::none);
  std::atomic<int64_t> refused{0};
  killer kill{sys};
  // Each disturbance kills a partition and a buffer back to back, in
  // alternating order: a buffer dies with records in flight to a partition
  // that died before it (or after it), and a replacement buffer meets a
  // restarted partition.
  size_t round = 0;
  auto accepted = produce_while(2, 300'000, 7'500, refused, [&] {
    auto part = cache_name(1 + (round / 2) % 2);
    auto buf = buffer::name(1 + round % 2);
    if (round % 2 == 0) {
      kill(part);
      kill(buf);
    } else {
      kill(buf);
      kill(part);
    }
    ++round;
  });
  // Until the supervisor has replaced the last buffer, a flush that reaches
  // the dead one says not_started.
  caf::error flushed;
  for (int i = 0; i < 1000; ++i) {
    flushed = flush();
    if (!flushed)
      break;
    REQUIRE_MESSAGE(flushed == errc::not_started, render(flushed));
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  REQUIRE_EQ(flushed, caf::none);
  auto stored = *size();
  MESSAGE("accepted " << accepted << ", kills " << kill.kills << ", stored "
                      << stored << ", lost " << counter("lost")
                      << ", lost_stored " << counter("lost_stored"));
  CHECK_GE(kill.kills, 70u);
  CHECK_EQ(counter("enqueued"), static_cast<size_t>(accepted));
  CHECK_EQ(stored + counter("lost") + counter("lost_stored")
             + counter("dropped"),
           static_cast<size_t>(accepted));
  CHECK_EQ(counter("pending"), 0u);
  for (size_t i = 1; i <= 2; ++i) {
    CHECK(registered(sys, cache_name(i)));
    CHECK(registered(sys, buffer::name(i)));
  }
  REQUIRE_EQ(lazy_put(make_record(-1)), caf::none);
  REQUIRE_EQ(flush(), caf::none);
  CHECK_EQ(get(make_record(-1))->size(), 1u);
  REQUIRE_EQ(stop(), caf::none);
}
