#include "actors/routing.hpp"

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/policy/work_stealing.hpp>
#include <caf/scheduler/coordinator.hpp>

namespace supercache::routing {

namespace {

/// Bumped by `learn_workers`; a thread's cached lane is valid for one value.
std::atomic<uint64_t> generation{1};

/// Worker thread ids of the running system, by worker id.
std::vector<std::thread::id> workers;

/// Next value of `thread_index`.
std::atomic<size_t> next_thread_index{0};

struct thread_cache {
  size_t index = SIZE_MAX;
  uint64_t generation = 0;
  size_t lane = 0;
};

thread_local thread_cache cache;

} // namespace

size_t thread_index() noexcept {
  if (cache.index == SIZE_MAX)
    cache.index = next_thread_index.fetch_add(1, std::memory_order_relaxed);
  return cache.index;
}

size_t current_lane() noexcept {
  auto gen = generation.load(std::memory_order_acquire);
  if (cache.generation == gen)
    return cache.lane;
  auto lane = thread_index();
  auto self = std::this_thread::get_id();
  for (size_t i = 0; i < workers.size(); ++i)
    if (workers[i] == self) {
      lane = i;
      break;
    }
  cache.lane = lane;
  cache.generation = gen;
  return lane;
}

void learn_workers(caf::actor_system& sys) {
  using coordinator = caf::scheduler::coordinator<caf::policy::work_stealing>;
  workers.clear();
  if (auto sched = dynamic_cast<coordinator*>(&sys.scheduler()))
    for (size_t i = 0; i < sched->num_workers(); ++i)
      workers.push_back(sched->worker_by_id(i)->get_thread().get_id());
  generation.fetch_add(1, std::memory_order_acq_rel);
}

} // namespace supercache::routing
