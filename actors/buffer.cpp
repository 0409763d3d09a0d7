#include "actors/buffer.hpp"

#include <caf/attach_continuous_stream_stage.hpp>
#include <caf/downstream.hpp>
#include <caf/policy/arg.hpp>
#include <caf/unit.hpp>

#include "actors/errc.hpp"
#include "actors/names.hpp"

namespace supercache {

namespace {

using buffer_actor_ptr = caf::stateful_actor<buffer_state>*;

/// Queues `x` on the stage and ships what credit allows: only full batches
/// while more messages wait in the mailbox, everything once it is empty, so a
/// trickle is not held back by `stream.max-batch-delay`.
void push(buffer_actor_ptr self, entry&& x) {
  auto& st = self->state;
  st.stage->out().push_to(x.partition, std::move(x));
  if (self->mailbox().empty())
    st.stage->out().force_emit_batches();
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
  pending.acks_left = st.partitions.size();
  pending.reply = self->make_response_promise();
  pending.stop = stop;
  return pending.reply;
}

} // namespace

caf::behavior buffer_actor(buffer_actor_ptr self,
                           std::vector<caf::actor> partitions,
                           record_layout layout) {
  auto& st = self->state;
  st.layout = layout;
  st.partitions = std::move(partitions);
  st.stage = caf::attach_continuous_stream_stage(
    self, [](caf::unit_t&) {},
    [](caf::unit_t&, caf::downstream<entry>&, entry) {
      // No inbound paths: records come from message handlers.
    },
    [](caf::unit_t&, const caf::error&) {},
    caf::policy::arg<buffer_state::output>::value);
  st.stage->out().partitions(st.partitions.size());
  for (size_t i = 0; i < st.partitions.size(); ++i) {
    auto slot = st.stage->add_outbound_path(st.partitions[i]);
    st.stage->out().assign(slot, i);
    self->monitor(st.partitions[i]);
  }
  self->set_down_handler([=](caf::down_msg& msg) {
    // A partition died: its records can no longer be confirmed.
    auto reason = msg.reason ? msg.reason
                             : make_error(errc::not_started,
                                          "a cache partition terminated");
    for (auto& kvp : self->state.flushes)
      kvp.second.reply.deliver(reason);
    self->state.flushes.clear();
    self->quit(reason);
  });
  return {
    [=](entry& x) { push(self, std::move(x)); },
    [=](caf::put_atom, const record& x) -> caf::result<caf::ok_atom> {
      auto& state = self->state;
      if (state.stopping)
        return make_error(errc::not_started, "the buffer is stopping");
      if (auto err = validate(x, state.layout))
        return err;
      auto [value, hash] = packed::pack(x, state.layout);
      entry e;
      e.partition = partition_index(hash, state.partitions.size());
      e.value = std::move(value);
      push(self, std::move(e));
      return caf::ok_atom::value;
    },
    [=](caf::flush_atom) { return barrier(self, false); },
    [=](stop_atom) {
      self->state.stopping = true;
      return barrier(self, true);
    },
    [=](flushed_atom, uint64_t id) {
      auto& flushes = self->state.flushes;
      auto i = flushes.find(id);
      if (i == flushes.end() || --i->second.acks_left > 0)
        return;
      auto stop = i->second.stop;
      i->second.reply.deliver(caf::ok_atom::value);
      flushes.erase(i);
      if (stop)
        self->quit();
    },
  };
}

namespace buffer {

caf::atom_value name(size_t id) {
  return numbered_name("buffer_", id);
}

} // namespace buffer

} // namespace supercache
