// The instance's buffers: starting them, replacing one that died, and
// draining and stopping them.

#include <cstdio>

#include <caf/actor_registry.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include <supercache/supercache.hpp>

#include "actors/buffer.hpp"
#include "actors/messages.hpp"
#include "config/tls.hpp"
#include "core/cluster_map.hpp"
#include "instance/waiting.hpp"

namespace supercache::detail {

namespace {

/// Spawns buffer `index` (0-based) with the counters of its slot.
caf::actor spawn_buffer(instance_state& st, const cache_view& cache,
                        size_t index) {
  buffer_settings settings;
  settings.layout = cache.layout;
  settings.max_pending = cache.opts.max_pending;
  settings.overflow = cache.opts.overflow;
  settings.counters = st.counters->slots[index];
  settings.index = static_cast<uint32_t>(index);
  settings.remote = static_cast<bool>(cache.remote);
  settings.guards = st.guards;
  if (!cache.remote) {
    settings.board = st.counters;
    return st.sys.spawn(buffer_actor, cache.partitions, std::move(settings));
  }
  // One lane per copy of each partition (one copy each without replicas).
  std::vector<caf::actor> lanes;
  for (size_t p = 0; p < cache.copies.size(); ++p)
    for (size_t i = 0; i < cache.copies[p].size(); ++i) {
      lanes.push_back(cache.copies[p][i]);
      settings.lane_node.push_back(cache.nodes[cache.copy_nodes[p][i]]);
      settings.lane_partition.push_back(static_cast<uint32_t>(p));
    }
  if (lanes.size() == cache.copies.size())
    settings.lane_partition.clear(); // lane i is partition i
  // Every copy of each partition by the map, to take back one that
  // restarted and rejoined.
  if (cache.opts.replicas > 1) {
    cluster_map map{cache.nodes.size(), cache.copies.size(),
                    cache.opts.replicas};
    settings.homes.resize(cache.copies.size());
    for (size_t p = 0; p < cache.copies.size(); ++p)
      for (auto k : map.nodes_of(p))
        settings.homes[p].push_back(cache.nodes[k]);
    if (auto hdl = link_opener(st.sys, "taking a rejoined copy back"))
      settings.connector = std::move(*hdl);
    settings.rejoined = cache.rejoined;
  }
  settings.call_timeout = cache.opts.call_timeout;
  return st.sys.spawn(buffer_actor, std::move(lanes), std::move(settings));
}

} // namespace

/// Replaces buffer `index` after `dead` died (the supervisor's hook); the
/// records it held count as lost, and so do those it shipped to partitions
/// that died before processing them.
std::optional<caf::actor> restart_buffer(instance_state& st, uint32_t index,
                                         const caf::actor_addr& dead) {
  // Its streams: nothing more ships on them.
  st.counters->buffer_gone(dead.id());
  std::unique_lock<std::mutex> guard{st.lifecycle, std::try_to_lock};
  if (!guard)
    return std::nullopt;
  auto cache = st.load();
  if (!st.buffers_running || !cache || index >= st.num_buffers
      || st.buffers[index].address() != dead)
    return caf::actor{};
  st.buffer_gate.close_and_wait(); // producers see not_started meanwhile
  auto& ctr = *st.counters->slots[index];
  // What it shipped still reaches the partitions; what it held is gone.
  auto held = ctr.unshipped();
  ctr.lost += held;
  ctr.lost_held += held;
  auto hdl = spawn_buffer(st, *cache, index);
  reregister(st.sys, buffer::name(index + 1), hdl);
  st.buffers[index] = hdl;
  st.buffer_gate.open();
  std::fprintf(stderr,
               "supercache: buffer %u died and was replaced; %llu records "
               "it held were lost\n",
               index + 1, static_cast<unsigned long long>(held));
  return hdl;
}

caf::error start_buffers(const std::shared_ptr<instance_state>& ptr,
                         size_t n) {
  auto& st = *ptr;
  if (st.buffers_running)
    return make_error(errc::already_started, "the buffers are running");
  if (n == 0 || n > max_registered_id)
    return make_error(errc::invalid_option,
                      "buffers = " + std::to_string(n) + ": must be 1.."
                        + std::to_string(max_registered_id));
  auto cache = st.load();
  if (!cache)
    return make_error(errc::not_started,
                      "buffer::start needs a running cache (start)");
  std::vector<caf::actor> started;
  for (size_t i = 1; i <= n; ++i) {
    auto ctr = std::make_shared<buffer_counters>();
    ctr->end_to_end = !cache->remote;
    st.counters->slots[i - 1] = std::move(ctr);
    auto hdl = spawn_buffer(st, *cache, i - 1);
    started.push_back(hdl);
    if (auto err = register_as(st.sys, buffer::name(i), hdl)) {
      deadline dl{st.sys, st.call_timeout};
      terminate(st.sys, started, dl, "buffers");
      for (size_t j = 1; j < i; ++j)
        st.sys.registry().erase(buffer::name(j));
      return err;
    }
    if (st.supervisor)
      caf::anon_send(st.supervisor, watch_atom::value, false,
                     static_cast<uint32_t>(i - 1), hdl);
  }
  for (size_t i = 0; i < n; ++i)
    st.buffers[i] = started[i];
  st.num_buffers = n;
  st.layout = cache->layout;
  st.partitions = cache->partitions.size();
  st.max_pending = cache->opts.max_pending;
  st.read_only = cache->read_only;
  st.overflow = cache->opts.overflow;
  st.block_timeout = cache->opts.block_timeout;
  st.call_timeout = cache->opts.call_timeout;
  st.buffers_running = true;
  st.buffer_gate.open();
  return caf::none;
}

caf::error stop_buffers(instance_state& st) {
  if (!st.buffers_running)
    return make_error(errc::not_started, "no buffers are running");
  st.buffer_gate.close_and_wait();
  // Every accepted record is now in a mailbox, ahead of the stop message.
  caf::error result;
  deadline dl{st.sys, st.call_timeout};
  std::vector<caf::actor> hdls{st.buffers.begin(),
                               st.buffers.begin() + st.num_buffers};
  {
    caf::scoped_actor self{st.sys};
    size_t downs = 0;
    for (auto& hdl : hdls) {
      self->monitor(hdl);
      self->send(hdl, stop_atom::value);
    }
    // Each buffer answers its stop, then terminates; a buffer that died
    // before answering is down without an answer.
    while (downs < hdls.size()) {
      auto got = receive_before(
        self, dl, [](caf::ok_atom) {},
        [&](caf::error& err) {
          if (!result)
            result = std::move(err);
        },
        [&](caf::down_msg&) { ++downs; });
      if (!got) {
        result = timed_out(std::to_string(hdls.size() - downs)
                             + " buffers draining into the cache",
                           st.call_timeout);
        break;
      }
    }
  }
  st.buffers_running = false; // the supervisor replaces none from here on
  if (result == errc::timeout) {
    // Kill what did not drain: what those buffers held counts as lost.
    deadline grace{st.sys, kill_grace};
    terminate_now(st.sys, hdls, grace);
    for (size_t i = 0; i < hdls.size(); ++i) {
      auto& ctr = *st.counters->slots[i];
      auto held = ctr.unshipped();
      ctr.lost += held;
      ctr.lost_held += held;
    }
  }
  // Their streams: nothing more ships on them.
  for (auto& hdl : hdls)
    st.counters->buffer_gone(hdl.id());
  // Their counters stay in the totals of `stats`.
  auto retired = std::make_shared<counter_list>();
  if (auto old = std::atomic_load(&st.retired))
    *retired = *old;
  retired->insert(retired->end(), st.counters->slots.begin(),
                  st.counters->slots.begin() + st.num_buffers);
  std::atomic_store(&st.retired,
                    std::shared_ptr<const counter_list>{std::move(retired)});
  for (size_t i = 0; i < st.num_buffers; ++i) {
    st.sys.registry().erase(buffer::name(i + 1));
    st.buffers[i] = nullptr;
  }
  st.num_buffers = 0;
  return result;
}

} // namespace supercache::detail
