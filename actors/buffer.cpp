#include "actors/buffer.hpp"

#include <algorithm>

#include <caf/attach_continuous_stream_stage.hpp>
#include <caf/downstream.hpp>
#include <caf/policy/arg.hpp>
#include <caf/exit_reason.hpp>
#include <caf/sec.hpp>
#include <cstdio>
#include <limits>
#include <caf/unit.hpp>
#include <caf/upstream_msg.hpp>

#include <supercache/errc.hpp>
#include <supercache/supercache.hpp>

#include "core/admission.hpp"
#include "core/names.hpp"
#include "actors/buffer_paths.hpp"
#include "actors/buffer_takeback.hpp"

namespace supercache {

using namespace detail;

namespace {

/// Queues `x` on the stage and ships what credit allows: only full batches
/// while more messages wait in the mailbox, everything once it is empty, so a
/// trickle is not held back by `stream.max-batch-delay`. Under `drop-oldest`
/// it first makes room while more than `max-pending` records are pending.
void push(buffer_actor_ptr self, entry&& x) {
  auto& st = self->state;
  auto& out = st.stage->out();
  auto& cfg = st.settings;
  if (cfg.overflow == overflow_policy::drop_oldest) {
    auto pending = cfg.counters->pending();
    if (pending > cfg.max_pending) {
      // Drop the excess, and an eighth of the queue more, in one pass, so
      // that dropping stays cheaper than producing.
      auto excess = pending - cfg.max_pending;
      auto n = out.drop_oldest(x.partition,
                               excess + out.queued(x.partition) / 8);
      if (n == 0) {
        // Nothing older queued for this partition: drop `x` itself.
        cfg.counters->dropped.fetch_add(1, std::memory_order_relaxed);
        return;
      }
      cfg.counters->dropped.fetch_add(n, std::memory_order_relaxed);
    }
  }
  auto& lanes = st.lanes_of[x.partition];
  if (lanes.size() == 1) {
    out.push_to(lanes[0], std::move(x));
  } else {
    // One copy per live lane, in the same order on each.
    size_t last = lanes.size();
    for (size_t j = 0; j < lanes.size(); ++j)
      if (!out.retired(lanes[j]))
        last = j;
    for (size_t j = 0; j < lanes.size(); ++j)
      if (!out.retired(lanes[j])) {
        if (j == last)
          out.push_to(lanes[j], std::move(x));
        else
          out.push_to(lanes[j], entry{x});
      }
  }
  if (self->mailbox().empty())
    out.force_emit_batches();
  else
    st.stage->push();
}

/// Sends a barrier behind everything queued and returns the promise that is
/// delivered once every partition acknowledged it.
caf::response_promise barrier(buffer_actor_ptr self, bool stop) {
  auto& st = self->state;
  auto id = st.next_barrier++;
  entry marker;
  marker.barrier = id;
  st.stage->out().push_to_all(marker);
  st.stage->out().force_emit_batches();
  auto& pending = st.flushes[id];
  auto& out = st.stage->out();
  pending.acked.assign(st.partitions.size(), false);
  for (size_t i = 0; i < st.partitions.size(); ++i) {
    if (out.retired(i))
      pending.acked[i] = true;
    else
      ++pending.acks_left;
  }
  pending.reply = self->make_response_promise();
  pending.stop = stop;
  return pending.reply;
}

} // namespace

nlohmann::json to_json(const buffer_counters& x) {
  auto written = x.written.load();
  auto batches = x.batches.load();
  return {{"enqueued", x.enqueued.load()},
          {"written", written},
          {"rejected", x.rejected.load()},
          {"erases", x.erases.load()},
          {"dropped", x.dropped.load()},
          {"lost", x.lost.load()},
          {"replicas_lost", x.replicas_lost.load()},
          {"pending", x.pending()},
          {"batches", batches},
          {"avg_batch", batches > 0 ? static_cast<double>(written) / batches
                                    : 0.0}};
}

caf::behavior buffer_actor(buffer_actor_ptr self,
                           std::vector<caf::actor> partitions,
                           buffer_settings settings) {
  auto& st = self->state;
  self->count_into(settings.guards);
  if (!settings.counters)
    settings.counters = std::make_shared<buffer_counters>();
  st.settings = std::move(settings);
  st.partitions = std::move(partitions);
  st.stage = caf::attach_continuous_stream_stage(
    self, [](caf::unit_t&) {},
    [](caf::unit_t&, caf::downstream<entry>&, entry) {
      // No inbound paths: records come from message handlers.
    },
    [](caf::unit_t&, const caf::error&) {},
    caf::policy::arg<buffer_state::output>::value);
  auto& out = st.stage->out();
  out.partitions(st.partitions.size());
  auto& lane_partition = st.settings.lane_partition;
  if (lane_partition.empty()) {
    st.lanes_of.resize(st.partitions.size());
    for (size_t i = 0; i < st.partitions.size(); ++i)
      st.lanes_of[i].push_back(i);
  } else {
    for (size_t i = 0; i < lane_partition.size(); ++i) {
      if (lane_partition[i] >= st.lanes_of.size())
        st.lanes_of.resize(lane_partition[i] + 1);
      st.lanes_of[lane_partition[i]].push_back(i);
    }
    out.groups(lane_partition);
  }
  st.ledgers.resize(st.partitions.size());
  out.count_into(&st.settings.counters->written,
                 &st.settings.counters->batches);
  for (size_t i = 0; i < st.partitions.size(); ++i)
    open_path(self, i);
  self->set_down_handler([=](caf::down_msg& msg) {
    auto& parts = self->state.partitions;
    for (size_t i = 0; i < parts.size(); ++i)
      if (parts[i] && parts[i].address() == msg.source) {
        if (!self->state.settings.remote) {
          close_path(self, i);
          continue;
        }
        auto p = partition_of_lane(self->state, i);
        auto others = std::count_if(
          self->state.lanes_of[p].begin(), self->state.lanes_of[p].end(),
          [&](size_t j) { return j != i && parts[j]; });
        if (others > 0 && !self->state.failure)
          retire_lane(self, i, msg.source.node(), msg.reason);
        else
          give_up(self, i, msg.reason);
        if (self->state.quitting)
          return;
      }
  });
  return {
    [=](entry& x) {
      if (self->refuse_remote("an entry"))
        return;
      if (!check_entry(x, self->state.lanes_of.size())) {
        self->guards().refused.fetch_add(1, std::memory_order_relaxed);
        log_refused("an entry for partition " + std::to_string(x.partition)
                    + " (barrier " + std::to_string(x.barrier)
                    + ") to a buffer was refused");
        return;
      }
      if (!self->state.failure) {
        push(self, std::move(x));
        return;
      }
      auto& ctr = *self->state.settings.counters;
      ctr.lost_held.fetch_add(1, std::memory_order_relaxed);
      ctr.lost.fetch_add(1, std::memory_order_relaxed);
    },
    [=](caf::put_atom, const record& x) -> caf::result<caf::ok_atom> {
      auto& state = self->state;
      auto& cfg = state.settings;
      if (state.failure)
        return state.failure;
      if (state.stopping)
        return make_error(errc::not_started, "the buffer is stopping");
      entry e;
      if (auto err = make_entry(x, cfg.layout, state.lanes_of.size(), e))
        return err;
      auto& ctr = *cfg.counters;
      // The buffer never waits: it is an actor.
      switch (admit(ctr, cfg.max_pending, cfg.overflow, false)) {
        case admission::accept:
          ctr.enqueued.fetch_add(1, std::memory_order_relaxed);
          push(self, std::move(e));
          return caf::ok_atom::value;
        case admission::drop:
          ctr.dropped.fetch_add(1, std::memory_order_relaxed);
          ctr.enqueued.fetch_add(1, std::memory_order_relaxed);
          return caf::ok_atom::value;
        default:
          ctr.rejected.fetch_add(1, std::memory_order_relaxed);
          return make_error(errc::overloaded,
                            "the buffer holds max-pending = "
                              + std::to_string(cfg.max_pending) + " records");
      }
    },
    [=](caf::flush_atom) -> caf::result<caf::ok_atom> {
      if (self->state.failure)
        return self->state.failure;
      return barrier(self, false);
    },
    [=](stop_atom) -> caf::result<caf::ok_atom> {
      if (self->refuse_remote("a stop"))
        return caf::make_error(caf::sec::unexpected_message,
                               "stop is for local actors only");
      self->state.stopping = true;
      if (self->state.failure) {
        self->quit();
        return self->state.failure;
      }
      return barrier(self, true);
    },
    [=](flushed_atom, uint64_t id) {
      auto& state = self->state;
      // The sender first: an acknowledgment from an actor that is none of
      // this buffer's partitions is refused whether or not `id` is pending.
      auto sender = self->current_sender();
      std::vector<size_t> from;
      for (size_t p = 0; p < state.partitions.size(); ++p)
        if (state.partitions[p] && state.partitions[p].address() == sender)
          from.push_back(p);
      if (from.empty()) {
        self->guards().refused.fetch_add(1, std::memory_order_relaxed);
        log_refused("a flush acknowledgment from an actor that is no "
                    "partition was ignored");
        return;
      }
      auto& flushes = state.flushes;
      auto i = flushes.find(id);
      if (i == flushes.end())
        return; // Stale: that flush ended (or the buffer restarted).
      for (auto p : from)
        if (!i->second.acked[p]) {
          i->second.acked[p] = true;
          --i->second.acks_left;
        }
      complete(self, i);
    },
    [=](refused_atom, uint64_t n) {
      // Records of this buffer that a partition could not decode are lost;
      // only the buffer's own partitions say so, and with replicas only
      // the first live copy of a partition: every copy refuses the same
      // records, and each counts once.
      auto& state = self->state;
      auto sender = self->current_sender();
      for (size_t i = 0; i < state.partitions.size(); ++i) {
        if (!state.partitions[i] || state.partitions[i].address() != sender)
          continue;
        for (auto lane : state.lanes_of[partition_of_lane(state, i)])
          if (state.partitions[lane]) {
            if (lane == i)
              state.settings.counters->lost.fetch_add(n);
            break;
          }
        return;
      }
    },
    [=](reopen_atom, uint32_t partition, caf::actor& hdl) {
      if (self->refuse_remote("a reopen"))
        return;
      auto& state = self->state;
      if (partition >= state.partitions.size() || !hdl
          || state.partitions[partition] == hdl)
        return;
      if (state.partitions[partition])
        close_path(self, partition); // the reopen overtook the down_msg
      state.partitions[partition] = std::move(hdl);
      open_path(self, partition);
      state.stage->out().force_emit_batches();
    },
    [=](stats_atom) -> record {
      return to_json(*self->state.settings.counters);
    },
    [=](follow_atom, uint32_t partition, const caf::node_id& node,
        uint64_t token) { take_back(self, partition, node, token); },
  };
}

namespace buffer {

caf::atom_value name(size_t id) {
  return numbered_name("buffer_", id);
}

} // namespace buffer

} // namespace supercache
