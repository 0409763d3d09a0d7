// Taking a rejoined copy back: see actors/buffer_takeback.hpp.

#include "actors/buffer_takeback.hpp"

#include <algorithm>
#include <cstdio>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <caf/actor_cast.hpp>

#include <supercache/errc.hpp>
#include <supercache/options.hpp>
#include <supercache/supercache.hpp>

#include "actors/buffer_paths.hpp"
#include "actors/link.hpp"

namespace supercache::detail {

namespace {

using buffer_actor_ptr = buffer_actor_type*;

/// Returns the live lane of partition `p` whose actor is `addr`, or `npos`.
size_t lane_of(const buffer_state& st, uint32_t p,
               const caf::strong_actor_ptr& addr) {
  for (auto i : st.lanes_of[p])
    if (st.partitions[i] && addr
        && caf::actor_cast<caf::strong_actor_ptr>(st.partitions[i]) == addr)
      return i;
  return std::string::npos;
}

/// Forgets the take-back of partition `p` on `node`.
void forget(buffer_state& st, uint32_t p, const caf::node_id& node) {
  auto& xs = st.taking_back;
  xs.erase(std::remove(xs.begin(), xs.end(), std::make_pair(p, node)),
           xs.end());
}

/// Starts streaming partition `p` to `hdl` on node `addr` (whose front is
/// `front`), handing over from the leader `leader` with `token`.
void hand_over(buffer_actor_ptr self, uint32_t p, const caf::actor& leader,
               const caf::actor& hdl, const caf::actor& front,
               const std::string& addr, uint64_t token) {
  auto& st = self->state;
  auto from = lane_of(st, p, caf::actor_cast<caf::strong_actor_ptr>(leader));
  if (from == std::string::npos) {
    std::fprintf(stderr,
                 "supercache: buffer %u: the leader of cache partition %u "
                 "went away before this buffer took back its copy at %s\n",
                 static_cast<unsigned>(st.settings.index + 1),
                 static_cast<unsigned>(p + 1), addr.c_str());
    return;
  }
  auto& out = st.stage->out();
  auto& lane_partition = st.settings.lane_partition;
  if (lane_partition.empty()) // lane i was partition i
    for (size_t i = 0; i < st.partitions.size(); ++i)
      lane_partition.push_back(static_cast<uint32_t>(i));
  auto i = out.add_lane(p);
  auto& names = st.settings.lane_node;
  if (names.size() <= i)
    names.resize(i + 1);
  names[i] = addr;
  if (i < st.partitions.size()) {
    // A lane of `p` retired when its node went away: every flush counts
    // it as acknowledged already (retire_lane).
    st.partitions[i] = hdl;
    st.ledgers[i] = nullptr;
  } else {
    st.partitions.push_back(hdl);
    st.ledgers.emplace_back();
    lane_partition.push_back(p);
    st.lanes_of[p].push_back(i);
    for (auto& kvp : st.flushes)
      kvp.second.acked.push_back(true); // its barrier is not on the new lane
  }
  open_path(self, i);
  // The hand-over: first on the new lane, behind everything queued on the
  // leader's; acknowledged by both like a flush nobody waits for.
  auto id = st.next_barrier++;
  entry marker;
  marker.barrier = id;
  marker.erase = true;
  marker.enqueued_ns = static_cast<int64_t>(token);
  out.push_barrier_to(from, marker);
  marker.partition = 1; // the follower holds this stream
  out.push_barrier_to(i, marker);
  auto& pending = st.flushes[id];
  pending.acked.assign(st.partitions.size(), true);
  pending.acked[i] = false;
  pending.acked[from] = false;
  pending.acks_left = 2;
  out.force_emit_batches();
  if (st.settings.rejoined)
    st.settings.rejoined->add(p, addr, hdl, front);
  std::fprintf(stderr,
               "supercache: buffer %u: streams cache partition %u to the "
               "cache node at %s again (it rejoined)\n",
               static_cast<unsigned>(st.settings.index + 1),
               static_cast<unsigned>(p + 1), addr.c_str());
}

} // namespace

void take_back(buffer_actor_ptr self, uint32_t p, const caf::node_id& node,
               uint64_t token) {
  auto& st = self->state;
  auto& cfg = st.settings;
  auto refuse = [&](const std::string& why) {
    self->guards().refused.fetch_add(1, std::memory_order_relaxed);
    log_refused("a request to stream cache partition " + std::to_string(p + 1)
                + " to a copy that rejoined was refused: " + why);
  };
  if (!cfg.remote || !cfg.connector || p >= st.lanes_of.size()
      || p >= cfg.homes.size())
    return refuse("this buffer streams to no such cluster partition");
  auto& sender = self->current_sender();
  auto from = lane_of(st, p, sender);
  if (from == std::string::npos)
    return refuse("the sender is no copy of it this buffer streams to");
  if (node == caf::node_id{} || node == sender->node()
      || node == self->node())
    return refuse("it names the sender's node, this node or none");
  if (st.failure || st.stopping || st.quitting)
    return;
  for (auto i : st.lanes_of[p])
    if (st.partitions[i] && st.partitions[i].node() == node)
      return; // streams there already
  auto key = std::make_pair(p, node);
  if (std::find(st.taking_back.begin(), st.taking_back.end(), key)
      != st.taking_back.end())
    return;
  // The nodes the map gives the partition that have no live lane here.
  std::vector<std::string> candidates;
  for (auto& addr : cfg.homes[p]) {
    bool live = false;
    for (auto i : st.lanes_of[p])
      live = live || (st.partitions[i] && i < cfg.lane_node.size()
                      && cfg.lane_node[i] == addr);
    if (!live)
      candidates.push_back(addr);
  }
  if (candidates.empty())
    return refuse("every node of it has a live lane here");
  st.taking_back.push_back(key);
  auto leader = st.partitions[from];
  auto left = std::make_shared<size_t>(candidates.size());
  auto done = std::make_shared<bool>(false);
  auto errors = std::make_shared<std::string>();
  auto timeout = cfg.call_timeout;
  auto index = cfg.index;
  auto miss = [=](const std::string& why) {
    *errors += (errors->empty() ? "" : "; ") + why;
    if (--*left > 0 || *done)
      return;
    forget(self->state, p, node);
    std::fprintf(stderr,
                 "supercache: buffer %u: could not take back the copy of "
                 "cache partition %u that rejoined: %s\n",
                 static_cast<unsigned>(index + 1),
                 static_cast<unsigned>(p + 1), errors->c_str());
  };
  for (auto& addr : candidates) {
    auto ep = parse_endpoint(addr);
    if (!ep) {
      miss(render(ep.error()));
      continue;
    }
    ask_front(
      self, cfg.connector, timeout, *ep,
      [=](caf::node_id& nid, caf::actor& front,
          std::vector<caf::actor>& parts) {
        if (nid != node)
          return miss(addr + " is another node");
        auto& now = self->state;
        if (parts.size() != now.lanes_of.size() || !parts[p]
            || parts[p].node() != node)
          return miss(addr + " names no partition " + std::to_string(p + 1));
        *done = true;
        forget(now, p, node);
        if (now.failure || now.stopping || now.quitting)
          return;
        hand_over(self, p, leader, parts[p], front, addr, token);
      },
      [=](const std::string& what) { miss(addr + " " + what); });
  }
}

} // namespace supercache::detail
