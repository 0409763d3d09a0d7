// Rejoin: a cache partition copying a live copy of itself on another node
// and following it (see actors/cache_follow.hpp).

#include "actors/cache_follow.hpp"

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>

#include <caf/response_promise.hpp>
#include <caf/send.hpp>

#include <supercache/errc.hpp>
#include <supercache/supercache.hpp>

namespace supercache {

namespace {

/// Tells the buffer of `src` to take follower `f` back, unless the buffer
/// is on this node or the follower's, or streams there already.
void tell(cache_actor_type* self, const cache_state::source& src,
          const cache_state::follower& f) {
  if (src.remote && src.slot.first != f.hdl.node()
      && std::find(f.direct.begin(), f.direct.end(), src.slot.first)
           == f.direct.end()) {
    // First: the follower's node may take writes only from producers it
    // knows (core/placed_peers.hpp), and this one never connected to it.
    self->send(f.hdl, vouch_atom::value, src.slot.first);
    self->send(src.upstream, follow_atom::value, self->state.index,
               f.hdl.node(), f.token);
  }
}

} // namespace

void tell_followers(cache_actor_type* self, const cache_state::source& src) {
  for (auto& f : self->state.followers)
    tell(self, src, f);
}

namespace {

/// Applies what stream `i` held, in order, and forgets it.
void release(cache_actor_type* self,
             std::map<uint64_t, cache_state::held_stream>::iterator i) {
  auto held = std::move(i->second);
  self->state.holding.erase(i);
  for (auto& batch : held.batches)
    apply_stream_batch(self, held.from, batch);
}

/// Hand-overs kept for streams that did not begin yet, at most.
constexpr size_t max_handed = 4096;

} // namespace

void take_batch(cache_actor_type* self, uint64_t stream,
                std::vector<entry>& batch) {
  auto& st = self->state;
  if (auto h = st.holding.find(stream); h != st.holding.end()) {
    auto& held = h->second;
    held.records += batch.size();
    held.batches.push_back(std::move(batch));
    if (held.records > max_held_records) {
      // The leader never confirmed the hand-over (a peer may send one it
      // never made): no more memory for it; applied as it arrives.
      std::fprintf(stderr,
                   "supercache: cache partition %u: a producer's hand-over "
                   "was not confirmed by the leader within %zu records; its "
                   "stream is applied without waiting\n",
                   static_cast<unsigned>(st.index + 1), max_held_records);
      release(self, h);
    }
    return;
  }
  auto i = st.sources.find(stream);
  if (i == st.sources.end())
    return; // not open (cannot happen: CAF closes the sink first)
  auto& src = i->second;
  if (!src.started) {
    src.started = true;
    if (src.remote && st.leader && !batch.empty()
        && is_handover(batch.front()) && batch.front().partition == 1) {
      auto id = batch.front().barrier;
      auto x = std::make_pair(src.slot, id);
      auto j = std::find(st.handed.begin(), st.handed.end(), x);
      if (j != st.handed.end()) {
        st.handed.erase(j); // the leader was first
      } else {
        auto& held = st.holding[stream];
        held.from = src;
        held.barrier = id;
        held.records = batch.size();
        held.batches.push_back(std::move(batch));
        return;
      }
    }
  }
  apply_stream_batch(self, src, batch);
}


bool from_leader(cache_actor_type* self, const char* what) {
  auto& st = self->state;
  if (st.leader && self->current_sender() == st.leader.address())
    return true;
  self->guards().refused.fetch_add(1, std::memory_order_relaxed);
  log_refused(std::string{what} + " for cache partition "
              + std::to_string(st.index + 1)
              + " from an actor that is not its leader was refused");
  return false;
}

void handed_over(cache_actor_type* self, const caf::node_id& node,
                 uint32_t buffer_index, uint64_t barrier) {
  auto& st = self->state;
  if (!from_leader(self, "a hand-over"))
    return;
  auto slot = cache_state::buffer_slot{node, buffer_index};
  for (auto i = st.holding.begin(); i != st.holding.end(); ++i)
    if (i->second.from.slot == slot && i->second.barrier == barrier)
      return release(self, i);
  if (st.handed.size() >= max_handed)
    st.handed.erase(st.handed.begin());
  st.handed.emplace_back(slot, barrier);
}

void vouch(cache_actor_type* self, const caf::node_id& producer) {
  if (from_leader(self, "a vouch for a producer"))
    self->guards().placed.let_in(producer);
}

void leader_gone(cache_actor_type* self) {
  auto& st = self->state;
  // Nothing more comes from it, and a request to it would go unanswered
  // (CAF 0.17 drops messages to a lost node's actors): a later producer's
  // follow request is answered at once.
  st.leader = nullptr;
  if (st.holding.empty())
    return;
  std::fprintf(stderr,
               "supercache: cache partition %u: its leader went away before "
               "handing over %zu producer streams; they go on, and what the "
               "leader had not forwarded of them may be missing here\n",
               static_cast<unsigned>(st.index + 1), st.holding.size());
  while (!st.holding.empty())
    release(self, st.holding.begin());
}

caf::result<caf::ok_atom> follow(cache_actor_type* self,
                                 const caf::node_id& direct) {
  auto& st = self->state;
  auto sender = caf::actor_cast<caf::actor>(self->current_sender());
  if (!sender)
    return make_error(errc::invalid_record, "a follow request without sender");
  if (sender.node() == self->node()) {
    // This node's front: a producer on `direct` is about to stream here.
    if (!st.leader)
      return caf::ok_atom::value;
    auto rp = self->make_response_promise();
    self->request(st.leader, st.follow_timeout, follow_atom::value, direct)
      .then([rp](caf::ok_atom) mutable { rp.deliver(caf::ok_atom::value); },
            [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
    return rp;
  }
  auto same_node = [&](const cache_state::follower& f) {
    return f.hdl.node() == sender.node();
  };
  auto i = std::find_if(st.followers.begin(), st.followers.end(), same_node);
  if (i != st.followers.end() && i->hdl == sender) {
    if (std::find(i->direct.begin(), i->direct.end(), direct)
        == i->direct.end())
      i->direct.push_back(direct);
    return caf::ok_atom::value;
  }
  if (i == st.followers.end() && st.followers.size() >= max_followers)
    return make_error(errc::overloaded,
                      "cache partition " + std::to_string(st.index + 1)
                        + " already has max_followers = "
                        + std::to_string(max_followers) + " followers");
  // The copy, then the follower: both in this handler, between batches.
  // Other threads' writes to the table come through this actor from now on
  // (`table::follow`): they are in the copy or forwarded.
  st.data->follow();
  cache_state::follower f;
  f.hdl = sender;
  f.direct.push_back(direct);
  f.token = st.next_token++;
  f.copy_unacked = send_copy(self, sender);
  f.last_ack = std::chrono::steady_clock::now();
  self->monitor(sender); // its credit goes with it (follower_gone)
  if (i != st.followers.end())
    st.followers.erase(i); // the node's partition restarted again
  st.followers.push_back(std::move(f));
  // Producers that stream here and not to the follower take it back.
  for (auto& kvp : st.sources)
    tell(self, kvp.second, st.followers.back());
  return caf::ok_atom::value;
}

caf::result<caf::ok_atom> rejoin(cache_actor_type* self, caf::actor leader,
                                 const caf::node_id& direct,
                                 caf::timespan timeout) {
  if (self->refuse_remote("a rejoin"))
    return make_error(errc::invalid_option, "rejoin is local only");
  auto& st = self->state;
  if (!leader || leader.node() == self->node())
    return make_error(errc::invalid_option,
                      "cache partition " + std::to_string(st.index + 1)
                        + " was told to copy a partition that is not on "
                          "another node");
  // Set first: the copy arrives before the answer.
  st.leader = leader;
  self->monitor(leader); // holds end when it goes away
  st.follow_timeout = timeout;
  auto rp = self->make_response_promise();
  auto index = st.index;
  self->request(leader, timeout, follow_atom::value, direct)
    .then([rp](caf::ok_atom) mutable { rp.deliver(caf::ok_atom::value); },
          [rp, index](caf::error& err) mutable {
            rp.deliver(make_error(errc::unreachable,
                                  "cache partition " + std::to_string(index + 1)
                                    + " could not copy its leader: "
                                    + render(err)));
          });
  return rp;
}

void apply_copy(cache_actor_type* self, std::vector<entry>& batch) {
  auto& st = self->state;
  if (!st.leader || self->current_sender() != st.leader.address()) {
    self->guards().refused_records.fetch_add(batch.size(),
                                             std::memory_order_relaxed);
    log_refused(std::to_string(batch.size()) + " copied records for cache "
                "partition " + std::to_string(st.index + 1)
                + " from an actor that is not its leader were refused");
    return;
  }
  auto received = static_cast<uint64_t>(batch.size());
  auto n = check_batch(batch, st.index)
           + check_owner(batch, st.index, st.partitions, st.data->layout());
  for (auto& x : batch)
    n += is_barrier(x) ? 1 : 0;
  if (n > 0) {
    self->guards().refused_records.fetch_add(n, std::memory_order_relaxed);
    log_refused(std::to_string(n) + " copied records for cache partition "
                + std::to_string(st.index + 1) + " were refused");
    batch.erase(std::remove_if(batch.begin(), batch.end(),
                               [](const entry& x) { return !is_forwarded(x); }),
                batch.end());
  }
  forward(self, st.leader.node(), 0, batch); // a chain of followers
  st.data->insert_copied(batch);
  // Credit for the leader: it holds its streams back while too many
  // records it forwarded here are not acknowledged (cache_forward.cpp).
  self->send(st.leader, copied_atom::value, received);
}

} // namespace supercache
