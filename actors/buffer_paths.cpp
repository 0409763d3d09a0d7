// The stream paths of a buffer: see actors/buffer_paths.hpp.

#include "actors/buffer_paths.hpp"

#include <algorithm>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include <caf/exit_reason.hpp>
#include <caf/sec.hpp>
#include <caf/upstream_msg.hpp>

#include <supercache/errc.hpp>

namespace supercache::detail {

namespace {

/// Keeps CAF from ever giving a later path the slot of path `slot`.
///
/// CAF 0.17 picks a new path's slot as one above the highest slot its actor
/// has registered, and routes upstream messages (`ack_open`, `ack_batch`,
/// `forced_drop`) by slot alone, not by sender. A dead partition's late
/// messages (its `forced_drop` when it terminates, an `ack_open` it sent
/// just before) would then land on the path of its replacement if that path
/// reused the slot: the path is removed or left waiting forever, and the
/// records queued for that partition never ship (a flush times out).
/// Registering the stage under `slot + 1`, a slot no peer knows, keeps every
/// later slot above every earlier one. Past 65534 slots (32,767 partition
/// restarts in one buffer's life) reuse is possible again.
///
/// The new reservation goes in through `add_stream_manager` before the old
/// one leaves: CAF starts its stream ticks (which force underfull batches
/// out after `stream.max-batch-delay`) when the first manager is added to an
/// empty map, and stops them when the map becomes empty.
void reserve_slot_above(buffer_actor_ptr self, caf::stream_slot slot) {
  auto& st = self->state;
  auto old = st.reserved_slot;
  st.reserved_slot = caf::invalid_stream_slot;
  if (slot < std::numeric_limits<caf::stream_slot>::max() - 1) {
    st.reserved_slot = static_cast<caf::stream_slot>(slot + 1);
    self->add_stream_manager(st.reserved_slot, st.stage);
  }
  if (old != caf::invalid_stream_slot)
    self->erase_stream_manager(old);
}

/// Removes the path at `slot` (if valid) to a partition that died.
void drop_path(buffer_actor_ptr self, caf::stream_slot slot) {
  if (slot == caf::invalid_stream_slot)
    return;
  auto& st = self->state;
  auto& out = st.stage->out();
  // A handshake the dead partition never answered would keep the stage
  // (and the buffer after `quit`) waiting forever: answer it ourselves,
  // granting no credit, before removing the path.
  if (auto path = out.path(slot); path != nullptr && path->pending()) {
    caf::upstream_msg::ack_open ack{
      caf::actor_cast<caf::actor_addr>(path->hdl), path->hdl, 0, 1};
    st.stage->handle(caf::stream_slots{1, slot}, ack);
    self->pending_stream_managers().erase(slot);
  }
  out.remove_path(slot, caf::sec::runtime_error, true);
}

/// Returns the node of lane `i` for messages.
std::string node_of(buffer_actor_ptr self, size_t i) {
  auto& names = self->state.settings.lane_node;
  return i < names.size() ? "the cache node at " + names[i]
                          : std::string{"the remote node"};
}

} // namespace

/// Opens the stream path to partition `i` and watches the partition.
void open_path(buffer_actor_ptr self, size_t i) {
  auto& st = self->state;
  auto& out = st.stage->out();
  auto& board = st.settings.board;
  std::atomic<uint64_t>* shipped = nullptr;
  if (board) {
    st.ledgers[i] = board->open(st.settings.counters, self->id(),
                                st.partitions[i]->id());
    shipped = &st.ledgers[i]->shipped;
  }
  auto slot = st.stage->add_outbound_path(st.partitions[i],
                                          std::make_tuple(st.settings.index));
  reserve_slot_above(self, slot);
  out.assign(slot, i, shipped);
  self->monitor(st.partitions[i]);
}

/// Forgets partition `i` after it died: its queue stays for the replacement,
/// every unacknowledged barrier is queued again for it, and what was shipped
/// to it and not processed is counted as lost.
void close_path(buffer_actor_ptr self, size_t i) {
  auto& st = self->state;
  auto& out = st.stage->out();
  drop_path(self, out.slot_of(i));
  // Nothing more ships to it; it processes nothing more.
  out.assign(caf::invalid_stream_slot, i);
  if (st.ledgers[i]) {
    st.settings.board->settle(self->id(), st.partitions[i]->id());
    st.ledgers[i] = nullptr;
  }
  st.partitions[i] = nullptr;
  for (auto& kvp : st.flushes)
    if (!kvp.second.acked[i]) {
      entry marker;
      marker.barrier = kvp.first;
      out.push_barrier_to(i, marker);
    }
}

/// Answers the flush `i` once every lane acknowledged its barrier; returns
/// whether the buffer quit (the flush was a stop).
bool complete(buffer_actor_ptr self,
              std::unordered_map<uint64_t, buffer_state::pending_flush>::
                iterator i) {
  auto& state = self->state;
  if (i->second.acks_left > 0)
    return false;
  auto stop = i->second.stop;
  if (i->second.reply.pending()) // none for a hand-over
    i->second.reply.deliver(caf::ok_atom::value);
  state.flushes.erase(i);
  if (!stop)
    return false;
  // Every record is stored: drop the paths without waiting for the
  // acknowledgments of batches that are already applied (a sink acks
  // only on its credit rounds, which need not come any more); the
  // sinks close when this actor terminates (partitioned_output::abort).
  state.stage->out().abort(caf::exit_reason::user_shutdown);
  // Nothing is left to deliver: drop the stage, so that no stream
  // bookkeeping of a partition that died mid-handshake keeps the
  // buffer alive after `quit`.
  self->stream_managers().clear();
  self->pending_stream_managers().clear();
  state.quitting = true;
  self->quit();
  return true;
}

/// Returns the partition lane `i` carries.
size_t partition_of_lane(const buffer_state& st, size_t i) {
  auto& xs = st.settings.lane_partition;
  return i < xs.size() ? xs[i] : i;
}

/// Stops streaming to lane `i`, a copy of a partition whose node went away
/// while another copy lives: its queue goes (the other copies hold the same
/// records) and no flush waits for it any more.
void retire_lane(buffer_actor_ptr self, size_t i, const caf::node_id& node,
                 const caf::error& reason) {
  auto& st = self->state;
  auto& out = st.stage->out();
  drop_path(self, out.slot_of(i));
  out.retire(i);
  st.partitions[i] = nullptr;
  st.settings.counters->replicas_lost.fetch_add(1, std::memory_order_relaxed);
  if (std::find(st.lost_nodes.begin(), st.lost_nodes.end(), node)
      == st.lost_nodes.end()) {
    // Its lanes retire one after another as their paths close: the last
    // few nodes are enough to log each loss once, and a node that restarts
    // again and again (a new id each time) adds nothing here for good.
    if (st.lost_nodes.size() >= max_lost_nodes)
      st.lost_nodes.erase(st.lost_nodes.begin());
    st.lost_nodes.push_back(node);
    std::fprintf(stderr,
                 "supercache: buffer %u: %s went away (%s); its partitions "
                 "go on with their other replicas\n",
                 static_cast<unsigned>(st.settings.index + 1),
                 node_of(self, i).c_str(), render(reason).c_str());
  }
  std::vector<uint64_t> ids;
  for (auto& kvp : st.flushes)
    if (!kvp.second.acked[i]) {
      kvp.second.acked[i] = true;
      --kvp.second.acks_left;
      ids.push_back(kvp.first);
    }
  for (auto id : ids)
    if (auto j = st.flushes.find(id); j != st.flushes.end())
      if (complete(self, j))
        return;
  out.force_emit_batches();
}

/// Gives up after remote partition `i` went away with `reason`: fails every
/// pending flush and counts what the buffer holds as lost.
void give_up(buffer_actor_ptr self, size_t i, const caf::error& reason) {
  auto& st = self->state;
  if (st.failure)
    return;
  auto p = partition_of_lane(st, i);
  std::string where = "on the remote node";
  if (!st.settings.lane_node.empty()) {
    where = "on";
    for (auto lane : st.lanes_of[p])
      where += " " + st.settings.lane_node[lane];
    where += st.lanes_of[p].size() > 1 ? " (every replica)" : "";
  }
  auto why = "cache partition " + std::to_string(p + 1) + " " + where
             + " went away (" + render(reason) + ")";
  st.failure = make_error(errc::unreachable, why);
  auto& ctr = *st.settings.counters;
  if (!ctr.unreachable.load(std::memory_order_acquire)) {
    ctr.failure_reason = std::move(why);
    ctr.unreachable.store(true, std::memory_order_release);
  }
  auto held = ctr.pending();
  ctr.lost_held += held;
  ctr.lost += held;
  st.stage->out().abort(reason);
  self->stream_managers().clear();
  self->pending_stream_managers().clear();
  bool stop = false;
  for (auto& kvp : st.flushes) {
    if (kvp.second.reply.pending())
      kvp.second.reply.deliver(st.failure);
    stop = stop || kvp.second.stop;
  }
  st.flushes.clear();
  if (stop) {
    st.quitting = true;
    self->quit();
  }
}

} // namespace supercache::detail
