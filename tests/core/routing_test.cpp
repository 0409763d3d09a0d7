// Tests of the routing of producer threads to lanes: per-thread indexes and
// scheduler worker ids on a real (work-stealing) actor system.

#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/policy/work_stealing.hpp>
#include <caf/scheduler/worker.hpp>
#include <caf/scoped_actor.hpp>

#include "core/routing.hpp"
#include "tests/fixture.hpp"

using namespace supercache;

namespace {

using worker_type = caf::scheduler::worker<caf::policy::work_stealing>;

/// Replies `(lane, worker id)` to one `get_atom`, then quits; `workers`
/// are the worker threads of its system, `owner` keys the lane cache.
caf::behavior lane_reporter(caf::event_based_actor* self,
                            std::vector<std::thread::id> workers,
                            uint64_t owner) {
  return {
    [=](caf::get_atom) -> caf::result<uint64_t, uint64_t> {
      auto where = routing::place(owner, workers, &self->system().logger());
      CHECK(where.own_worker);
      CHECK_FALSE(where.foreign);
      auto lane = static_cast<uint64_t>(where.lane);
      auto worker = dynamic_cast<worker_type*>(self->context());
      auto id = worker != nullptr ? static_cast<uint64_t>(worker->id())
                                  : UINT64_MAX;
      self->quit();
      return {lane, id};
    },
  };
}

} // namespace

TEST_CASE("thread_index is stable on one thread and distinct across "
          "threads") {
  constexpr size_t num_threads = 4;
  auto main_index = routing::thread_index();
  CHECK_EQ(routing::thread_index(), main_index);
  std::vector<size_t> first(num_threads, SIZE_MAX);
  std::vector<size_t> second(num_threads, SIZE_MAX);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < num_threads; ++i)
    threads.emplace_back([&, i] {
      first[i] = routing::thread_index();
      second[i] = routing::thread_index();
    });
  for (auto& t : threads)
    t.join();
  std::set<size_t> distinct{main_index};
  for (size_t i = 0; i < num_threads; ++i) {
    CAPTURE(i);
    CHECK_EQ(first[i], second[i]);
    distinct.insert(first[i]);
  }
  CHECK_EQ(distinct.size(), num_threads + 1);
  CHECK_EQ(routing::thread_index(), main_index);
}

TEST_CASE("the lane of a thread that is no scheduler worker equals its "
          "thread_index") {
  auto owner = routing::next_owner_id();
  auto lane = [&] { return routing::place(owner, {}, nullptr).lane; };
  CHECK_EQ(lane(), routing::thread_index());
  CHECK_EQ(lane(), routing::thread_index());
  constexpr size_t num_threads = 4;
  std::vector<std::pair<size_t, size_t>> seen(num_threads);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < num_threads; ++i)
    threads.emplace_back([&, i] {
      seen[i] = {lane(), routing::thread_index()};
    });
  for (auto& t : threads)
    t.join();
  for (size_t i = 0; i < num_threads; ++i) {
    CAPTURE(i);
    CHECK_EQ(seen[i].first, seen[i].second);
  }
}

TEST_CASE("the lane inside an actor equals the id of the scheduler worker "
          "running it") {
  constexpr size_t num_actors = 50;
  constexpr size_t num_workers = 2;
  std::vector<std::pair<uint64_t, uint64_t>> replies;
  size_t downs = 0;
  bool timed_out = false;
  {
    caf::actor_system_config cfg;
    cfg.set("scheduler.max-threads", num_workers);
    cfg.set("logger.verbosity", caf::atom("quiet"));
    caf::actor_system sys{cfg};
    REQUIRE_EQ(sys.scheduler().num_workers(), num_workers);
    auto workers = routing::worker_threads(sys);
    auto owner = routing::next_owner_id();
    {
      caf::scoped_actor self{sys};
      std::vector<caf::actor> actors;
      for (size_t i = 0; i < num_actors; ++i) {
        actors.push_back(sys.spawn(lane_reporter, workers, owner));
        self->monitor(actors.back());
      }
      for (auto& hdl : actors)
        self->send(hdl, caf::get_atom::value);
      // Each actor replies once and terminates: 50 replies and 50 downs, in
      // any order. The timeout only guards against a hang; it never fires in
      // a passing run.
      for (size_t i = 0; i < 2 * num_actors && !timed_out; ++i)
        self->receive(
          [&](uint64_t lane, uint64_t id) { replies.emplace_back(lane, id); },
          [&](caf::down_msg&) { ++downs; },
          caf::after(std::chrono::seconds(30)) >> [&] { timed_out = true; });
      actors.clear();
    } // the scoped actor is gone before the system
  }   // ~actor_system: every actor is done
  CHECK_FALSE(timed_out);
  CHECK_EQ(downs, num_actors);
  REQUIRE_EQ(replies.size(), num_actors);
  for (auto& [lane, id] : replies) {
    CAPTURE(lane);
    CAPTURE(id);
    CHECK_EQ(lane, id);
    CHECK_LT(lane, num_workers);
  }
}
