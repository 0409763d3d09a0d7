// Rejoin: a cache partition copying a live copy of itself on another node
// and following it (see actors/cache_follow.hpp).

#include "actors/cache_follow.hpp"

#include <algorithm>
#include <memory>
#include <string>

#include <caf/response_promise.hpp>

#include <supercache/errc.hpp>
#include <supercache/supercache.hpp>

namespace supercache {

namespace {

/// Returns whether `x` is forwarded: a record or lazy erase that its
/// partition could read.
bool forwarded(const entry& x) {
  return !is_barrier(x) && !is_refused(x);
}

/// Sends every record of this partition to `hdl` in chunks of `copy_chunk`.
void send_copy(cache_actor_type* self, const caf::actor& hdl) {
  auto& st = self->state;
  std::vector<entry> chunk;
  chunk.reserve(copy_chunk);
  auto& layout = st.data->layout();
  st.data->for_each([&](const record& x) {
    entry y;
    y.partition = st.index;
    y.value = packed::pack(x, layout).first;
    chunk.push_back(std::move(y));
    if (chunk.size() == copy_chunk) {
      self->send(hdl, copy_atom::value, std::move(chunk));
      chunk = std::vector<entry>{};
      chunk.reserve(copy_chunk);
    }
  });
  if (!chunk.empty())
    self->send(hdl, copy_atom::value, std::move(chunk));
}

} // namespace

void forward(cache_actor_type* self, const caf::node_id& from,
             const std::vector<entry>& batch) {
  for (auto& f : self->state.followers) {
    if (std::find(f.direct.begin(), f.direct.end(), from) != f.direct.end())
      continue;
    std::vector<entry> xs;
    xs.reserve(batch.size());
    for (auto& x : batch)
      if (forwarded(x)) {
        xs.push_back(x);
        xs.back().enqueued_ns = 0;
      }
    if (!xs.empty())
      self->send(f.hdl, copy_atom::value, std::move(xs));
  }
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
  send_copy(self, sender);
  cache_state::follower f{sender, {direct}};
  if (i != st.followers.end())
    *i = std::move(f); // the node's partition restarted again
  else
    st.followers.push_back(std::move(f));
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
  auto n = check_batch(batch, st.index)
           + check_owner(batch, st.index, st.partitions, st.data->layout());
  for (auto& x : batch)
    n += is_barrier(x) ? 1 : 0;
  if (n > 0) {
    self->guards().refused_records.fetch_add(n, std::memory_order_relaxed);
    log_refused(std::to_string(n) + " copied records for cache partition "
                + std::to_string(st.index + 1) + " were refused");
    batch.erase(std::remove_if(batch.begin(), batch.end(),
                               [](const entry& x) { return !forwarded(x); }),
                batch.end());
  }
  forward(self, st.leader.node(), batch); // a chain of followers
  st.data->insert(batch);
}

} // namespace supercache
