#pragma once

/// A deterministic test fixture for supercache actors on CAF's
/// `test_coordinator` (CAF's own `caf/test/dsl.hpp` needs CAF's test runner
/// and does not work with doctest). Copy it into your own tests.
///
/// Nothing runs until the test says so: `run()` processes every pending
/// message, `run_streams()` additionally advances simulated time (100 ms by
/// default, in 1 ms steps) so that stream timers (batch timeouts, credit
/// rounds) fire, and nothing else: a request with a 5 s timeout times out
/// only once the test advanced 5 s. Replies to `self` wait in its mailbox
/// and are read with `receive_*`.
///
/// `cache` is an instance of this system, not started: tests start it with
/// options of their own. Declared after the system, it is destroyed first
/// and stops itself, so a test that fails half-way (a failing `REQUIRE`)
/// never leaves `~actor_system` waiting for its actors. Its blocking calls
/// (`flush`, `stop`, ...) run the test coordinator while they wait.

#include <chrono>
#include <functional>
#include <optional>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/detail/test_actor_clock.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <caf/scoped_actor.hpp>

#include <caf/all.hpp>

#include <supercache/messages.hpp>
#include <supercache/supercache.hpp>

#include "actors/buffer.hpp"
#include "actors/cache.hpp"
#include "actors/messages.hpp"

namespace supercache::testing {

/// Returns the record `[key, "value-KEY"]`.
inline record make_record(int64_t key) {
  return record::array({key, "value-" + std::to_string(key)});
}

/// Returns options for records `[tag, part, key, value]` of `type`: key-pos
/// 2 and partition-pos 1 (neither the default 0), 3 partitions, 2 buffers.
inline options layout_options(table_type type) {
  options opts;
  opts.buffers = 2;
  opts.partitions = 3;
  opts.key_pos = 2;
  opts.partition_pos = 1;
  opts.type = type;
  return opts;
}

/// Returns the actor registered as `name` in `sys`, or an invalid handle.
inline caf::actor registered(caf::actor_system& sys, caf::atom_value name) {
  return caf::actor_cast<caf::actor>(sys.registry().get(name));
}

/// Stops the seed facade's default instance when it goes out of scope.
/// Declared right after a test's actor system, it runs first, so a test that
/// fails half-way (a failing `REQUIRE` throws) never leaves `~actor_system`
/// waiting for the actors of a facade it started. Stopping a facade that is
/// not running does nothing.
struct facade_stopper {
  ~facade_stopper() {
    supercache::stop();
  }
};

/// A config that selects the test coordinator.
struct test_config : caf::actor_system_config {
  test_config() {
    set("scheduler.policy", caf::atom("testing"));
    set("logger.verbosity", caf::atom("quiet"));
    configure(*this);
  }
};

/// A config for threaded tests: `workers` scheduler workers (CAF's real
/// work-stealing scheduler), quiet logging, supercache configured.
struct threaded_config : caf::actor_system_config {
  explicit threaded_config(size_t workers = 2) {
    set("scheduler.max-threads", workers);
    set("logger.verbosity", caf::atom("quiet"));
    configure(*this);
  }
};

/// Owns an actor system on the test coordinator and a scoped actor `self`
/// that sends messages and receives replies.
class fixture {
public:
  fixture()
    : sys(cfg),
      sched(dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler())),
      self(sys) {
    // Streams need simulated time to flush partial batches.
    sched.clock().time_per_unit[caf::atom("batch")] = std::chrono::microseconds(1);
  }

  /// Processes messages until no actor has anything left to do; returns how
  /// many messages ran.
  size_t run() {
    return sched.run();
  }

  /// Runs messages while advancing simulated time by `span` in 1 ms steps,
  /// firing only the timers that fall due within it.
  void run_streams(caf::timespan span = std::chrono::milliseconds(100)) {
    using std::chrono::milliseconds;
    sched.run();
    for (auto t = caf::timespan{0}; t < span; t += milliseconds(1)) {
      sched.clock().advance_time(milliseconds(1));
      sched.run();
    }
  }

  /// Returns the next message in `self`'s mailbox as `T`, or nothing if the
  /// mailbox is empty or holds something else.
  template <class T>
  std::optional<T> receive_as() {
    std::optional<T> result;
    self->receive([&](T& x) { result = std::move(x); },
                  [&](caf::error&) {},
                  caf::after(std::chrono::seconds(0)) >> [] {});
    return result;
  }

  /// Returns the next error in `self`'s mailbox, or none.
  caf::error receive_error() {
    caf::error result;
    self->receive([&](caf::error& x) { result = std::move(x); },
                  caf::after(std::chrono::seconds(0)) >> [] {});
    return result;
  }

  test_config cfg;
  caf::actor_system sys;
  caf::scheduler::test_coordinator& sched;
  caf::scoped_actor self;
  supercache::instance cache{sys};
};

} // namespace supercache::testing
