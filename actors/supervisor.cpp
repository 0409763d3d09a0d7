#include "actors/supervisor.hpp"

#include <chrono>
#include <map>
#include <utility>

#include <caf/exit_reason.hpp>

namespace supercache {

namespace {

/// A watched partition or buffer.
struct watched {
  bool is_partition;
  uint32_t index;
  caf::actor hdl;
};

using watch_map = std::map<caf::actor_addr, watched>;

} // namespace

caf::behavior supervisor_actor(guarded_actor* self,
                               partition_hook restart_partition,
                               buffer_hook restart_buffer,
                               guard_counters_ptr guards) {
  self->count_into(std::move(guards));
  auto watching = std::make_shared<watch_map>();
  auto watch = [=](bool is_partition, uint32_t index, caf::actor hdl) {
    self->monitor(hdl);
    auto addr = hdl.address();
    (*watching)[addr] = watched{is_partition, index, std::move(hdl)};
  };
  auto restart = [=](bool is_partition, uint32_t index,
                     const caf::actor_addr& dead) {
    if (is_partition) {
      auto res = restart_partition(index, dead);
      if (!res)
        return;
      for (auto& kvp : *watching)
        if (!kvp.second.is_partition)
          self->send(kvp.second.hdl, reopen_atom::value, index, *res);
      watch(true, index, *res);
      return;
    }
    auto res = restart_buffer(index, dead);
    if (!res) {
      // A start or stop holds the lifecycle: try again shortly.
      self->delayed_send(self, std::chrono::milliseconds(1),
                         retry_atom::value, index, dead);
      return;
    }
    if (*res)
      watch(false, index, std::move(*res));
  };
  self->set_down_handler([=](caf::down_msg& msg) {
    auto i = watching->find(msg.source);
    if (i == watching->end())
      return;
    auto what = std::move(i->second);
    watching->erase(i);
    if (!msg.reason || msg.reason == caf::exit_reason::user_shutdown)
      return; // stopped on purpose
    restart(what.is_partition, what.index, msg.source);
  });
  return {
    [=](watch_atom, bool is_partition, uint32_t index, caf::actor& hdl) {
      if (!self->refuse_remote("a watch"))
        watch(is_partition, index, std::move(hdl));
    },
    [=](retry_atom, uint32_t index, const caf::actor_addr& dead) {
      if (!self->refuse_remote("a retry"))
        restart(false, index, dead);
    },
  };
}

} // namespace supercache
