#include "core/routing.hpp"

#include <atomic>
#include <cstring>

#include <pthread.h>

#include <caf/actor_system.hpp>
#include <caf/logger.hpp>
#include <caf/policy/work_stealing.hpp>
#include <caf/scheduler/coordinator.hpp>

namespace supercache::routing {

namespace {

// Process-wide id sources (never state that one instance reads of another).

std::atomic<size_t> next_thread_index{0};

std::atomic<uint64_t> next_owner{1};

struct thread_cache {
  size_t index = SIZE_MAX;
  /// Whether CAF named this thread: -1 until asked (it reads /proc).
  int caf_named = -1;
  uint64_t owner = 0;
  placement where;
};

thread_local thread_cache cache;

/// Returns whether CAF named the calling thread (`caf.multiplexer` for
/// scheduler workers and the network thread, `caf.clock`).
bool caf_thread() noexcept {
  char name[16] = {0};
  if (pthread_getname_np(pthread_self(), name, sizeof(name)) != 0)
    return false;
  return std::strncmp(name, "caf.", 4) == 0;
}

} // namespace

size_t thread_index() noexcept {
  if (cache.index == SIZE_MAX)
    cache.index = next_thread_index.fetch_add(1, std::memory_order_relaxed);
  return cache.index;
}

uint64_t next_owner_id() noexcept {
  return next_owner.fetch_add(1, std::memory_order_relaxed);
}

placement place(uint64_t owner, const std::vector<std::thread::id>& workers,
                const caf::logger* own_logger) noexcept {
  if (cache.owner == owner)
    return cache.where;
  placement where;
  where.lane = thread_index();
  auto self = std::this_thread::get_id();
  for (size_t i = 0; i < workers.size(); ++i)
    if (workers[i] == self) {
      where.lane = i;
      where.own_worker = true;
      break;
    }
  if (cache.caf_named < 0)
    cache.caf_named = caf_thread() ? 1 : 0;
  if (!where.own_worker && cache.caf_named == 1) {
    auto current = caf::logger::current_logger();
    where.foreign = current != nullptr && current != own_logger;
  }
  cache.owner = owner;
  cache.where = where;
  return where;
}

std::vector<std::thread::id> worker_threads(caf::actor_system& sys) {
  using coordinator = caf::scheduler::coordinator<caf::policy::work_stealing>;
  std::vector<std::thread::id> result;
  if (auto sched = dynamic_cast<coordinator*>(&sys.scheduler()))
    for (size_t i = 0; i < sched->num_workers(); ++i)
      result.push_back(sched->worker_by_id(i)->get_thread().get_id());
  return result;
}

} // namespace supercache::routing
