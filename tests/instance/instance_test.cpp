// supercache::instance: one per actor system, owned by its caller, several
// alive in one process without cross-talk; the fixture on the test
// coordinator.

#include <doctest/doctest.h>

#include <chrono>
#include <cstdlib>
#include <future>
#include <iostream>
#include <thread>

#include "tests/fixture.hpp"

using namespace supercache;
using testing::make_record;
using testing::registered;

namespace {

/// An actor that writes keys `first` .. `first + n - 1` through `inst` on
/// `(put_atom, first, n)`, in its own handler, and replies the number of
/// records `lazy_put` accepted.
caf::behavior writer(caf::event_based_actor*, instance* inst) {
  return {
    [=](caf::put_atom, int64_t first, int64_t n) {
      int64_t accepted = 0;
      for (int64_t i = first; i < first + n; ++i)
        if (!inst->lazy_put(make_record(i)))
          ++accepted;
      return accepted;
    },
  };
}

/// An actor system with `workers` workers and an instance of its own.
struct node {
  explicit node(size_t workers) : cfg(workers), sys(cfg), cache(sys) {
    // nop
  }

  /// Has `actors` writers of this system write `per_actor` keys each,
  /// starting at `first`; returns the records accepted.
  int64_t write_from_actors(size_t actors, int64_t first, int64_t per_actor) {
    caf::scoped_actor self{sys};
    int64_t accepted = 0;
    for (size_t a = 0; a < actors; ++a) {
      auto hdl = sys.spawn(writer, &cache);
      self->request(hdl, std::chrono::seconds(30), caf::put_atom::value,
                    first + static_cast<int64_t>(a) * per_actor, per_actor)
        .receive([&](int64_t n) { accepted += n; },
                 [&](caf::error& err) { FAIL("writer: " << render(err)); });
      self->send_exit(hdl, caf::exit_reason::user_shutdown);
    }
    return accepted;
  }

  testing::threaded_config cfg;
  caf::actor_system sys;
  instance cache;
};

} // namespace

TEST_CASE("two actor systems in one process each store exactly what their "
          "own actors write, and one keeps working after the other stops") {
  node a{2};
  node b{2};
  REQUIRE_EQ(a.cache.start(), caf::none);
  REQUIRE_EQ(b.cache.start(), caf::none);
  CHECK_EQ(a.write_from_actors(4, 0, 1000), 4000);
  CHECK_EQ(b.write_from_actors(4, 1'000'000, 500), 2000);
  REQUIRE_EQ(a.cache.flush(), caf::none);
  REQUIRE_EQ(b.cache.flush(), caf::none);
  CHECK_EQ(*a.cache.size(), 4000u);
  CHECK_EQ(*b.cache.size(), 2000u);
  // Nothing of one is in the other.
  CHECK(a.cache.get(make_record(1'000'000))->empty());
  CHECK(b.cache.get(make_record(0))->empty());
  CHECK_EQ(a.cache.get(make_record(3999))->size(), 1u);
  REQUIRE_EQ(a.cache.stop(), caf::none);
  CHECK_EQ(a.cache.lazy_put(make_record(1)), errc::not_started);
  CHECK_EQ(b.write_from_actors(2, 2'000'000, 100), 200);
  REQUIRE_EQ(b.cache.flush(), caf::none);
  CHECK_EQ(*b.cache.size(), 2200u);
  REQUIRE_EQ(b.cache.stop(), caf::none);
}

TEST_CASE("a second running instance on one actor system gets "
          "already_started and leaves the first one running") {
  node a{2};
  instance second{a.sys};
  REQUIRE_EQ(a.cache.start(), caf::none);
  CHECK_EQ(second.start(), errc::already_started);
  CHECK_FALSE(second.running());
  CHECK_EQ(a.cache.lazy_put(make_record(1)), caf::none);
  REQUIRE_EQ(a.cache.flush(), caf::none);
  CHECK_EQ(*a.cache.size(), 1u);
  REQUIRE_EQ(a.cache.stop(), caf::none);
}

TEST_CASE("one flush_atom to the front from an actor flushes every buffer") {
  node a{2};
  auto opts = *options::from(a.sys.config());
  opts.buffers = 4;
  REQUIRE_EQ(a.cache.start(opts), caf::none);
  auto flusher = a.sys.spawn([&](caf::event_based_actor* self) {
    return caf::behavior{
      [=, inst = &a.cache](caf::put_atom, int64_t n) -> caf::result<uint64_t> {
        for (int64_t i = 0; i < n; ++i)
          if (inst->lazy_put(make_record(i)))
            return caf::sec::runtime_error;
        auto front = caf::actor_cast<caf::actor>(
          self->system().registry().get(instance::front_name()));
        auto rp = self->make_response_promise<uint64_t>();
        self->request(front, std::chrono::seconds(30), caf::flush_atom::value)
          .then([=](caf::ok_atom) mutable {
                  rp.deliver(static_cast<uint64_t>(*inst->size()));
                },
                [=](caf::error& err) mutable { rp.deliver(err); });
        return rp;
      },
    };
  });
  caf::scoped_actor self{a.sys};
  self->request(flusher, std::chrono::seconds(30), caf::put_atom::value,
                int64_t{5000})
    .receive([](uint64_t n) { CHECK_EQ(n, 5000u); },
             [](caf::error& err) { FAIL(render(err)); });
  self->send_exit(flusher, caf::exit_reason::user_shutdown);
  REQUIRE_EQ(a.cache.stop(), caf::none);
}

TEST_CASE("an instance leaving scope without stop lets ~actor_system "
          "return") {
  auto done = std::async(std::launch::async, [] {
    node a{2};
    REQUIRE_EQ(a.cache.start(), caf::none);
    for (int64_t i = 0; i < 1000; ++i)
      REQUIRE_EQ(a.cache.lazy_put(make_record(i)), caf::none);
    return true; // ~instance, then ~actor_system
  });
  if (done.wait_for(std::chrono::seconds(60)) != std::future_status::ready) {
    std::cerr << "~actor_system hangs after an instance left scope\n";
    std::_Exit(1); // the hung thread cannot be joined
  }
  CHECK(done.get());
}

TEST_CASE_FIXTURE(testing::fixture,
                  "on the test coordinator an instance with 4 buffers and 2 "
                  "partitions takes lazy_put, flush and stop") {
  options opts;
  opts.buffers = 4;
  opts.partitions = 2;
  REQUIRE_EQ(cache.start(opts), caf::none);
  for (int64_t i = 0; i < 1000; ++i)
    REQUIRE_EQ(cache.lazy_put(make_record(i)), caf::none);
  REQUIRE_EQ(cache.flush(), caf::none);
  CHECK_EQ(*cache.size(), 1000u);
  REQUIRE_EQ(cache.stop(), caf::none);
  CHECK_EQ(*cache.last_stop_size(), 1000u);
  CHECK_EQ(sys.registry().running(), 1u); // the fixture's `self`
  CHECK_EQ(sys.registry().get(buffer::name(4)), nullptr);
  CHECK_EQ(sys.registry().get(cache_name(2)), nullptr);
  CHECK_EQ(sys.registry().get(instance::front_name()), nullptr);
}

TEST_CASE_FIXTURE(testing::fixture,
                  "on the test coordinator an instance left running stops "
                  "itself when the fixture ends") {
  options opts;
  opts.buffers = 4;
  opts.partitions = 2;
  REQUIRE_EQ(cache.start(opts), caf::none);
  for (int64_t i = 0; i < 100; ++i)
    REQUIRE_EQ(cache.lazy_put(make_record(i)), caf::none);
  CHECK(cache.running()); // ~fixture: ~instance stops it, ~actor_system returns
}

TEST_CASE_FIXTURE(testing::fixture,
                  "run_streams and blocking calls advance simulated time "
                  "without firing an unrelated 5 s request timeout") {
  REQUIRE_EQ(cache.start(), caf::none);
  // An actor that never answers, asked with a 5 s timeout.
  auto silent = sys.spawn([](caf::event_based_actor*) -> caf::behavior {
    return {[](caf::get_atom) -> caf::result<int> {
      return caf::delegated<int>{};
    }};
  });
  bool answered = false;
  caf::error failed;
  auto asker = sys.spawn([&](caf::event_based_actor* me) {
    me->request(silent, std::chrono::seconds(5), caf::get_atom::value)
      .then([&](int) { answered = true; },
            [&](caf::error& err) { failed = std::move(err); });
  });
  for (int64_t i = 0; i < 100; ++i)
    REQUIRE_EQ(cache.lazy_put(make_record(i)), caf::none);
  REQUIRE_EQ(cache.flush(), caf::none);
  run_streams();
  CHECK_EQ(*cache.size(), 100u);
  CHECK_FALSE(failed); // less than 5 s of simulated time passed
  run_streams(std::chrono::seconds(5));
  CHECK_EQ(failed, caf::sec::request_timeout);
  CHECK_FALSE(answered);
  self->send_exit(silent, caf::exit_reason::user_shutdown);
  self->send_exit(asker, caf::exit_reason::user_shutdown);
  run();
  REQUIRE_EQ(cache.stop(), caf::none);
}
