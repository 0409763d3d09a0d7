// A leader partition's side of rejoin: the copy and the forwards to its
// followers, and the credit that bounds them (see actors/cache_follow.hpp).

#include "actors/cache_follow.hpp"

#include <algorithm>
#include <cstdio>
#include <string>

#include <caf/attach_stream_sink.hpp>
#include <caf/inbound_path.hpp>
#include <caf/send.hpp>
#include <caf/stream_sink_driver.hpp>

namespace supercache {

namespace {

using clock_type = std::chrono::steady_clock;

/// Stops forwarding to follower `i` and tells it why (`dropped_atom`).
void drop_follower(cache_actor_type* self,
                   std::vector<cache_state::follower>::iterator i,
                   const char* why) {
  auto& st = self->state;
  std::fprintf(stderr,
               "supercache: cache partition %u: its follower on another node "
               "%s; it is dropped and gets nothing more from here (what it "
               "misses is missing there, logged there)\n",
               static_cast<unsigned>(st.index + 1), why);
  self->send(i->hdl, dropped_atom::value);
  st.followers.erase(i);
}

/// The sink of one buffer's stream: hands each batch to `take_batch`, and
/// grants the buffer no credit while a follower of this partition has too
/// many forwarded records to acknowledge (`forwards_full`).
class partition_sink final : public caf::stream_sink_driver<entry> {
public:
  using finalizer = std::function<void(const caf::error&)>;

  partition_sink(cache_actor_type* self, uint64_t stream, finalizer fin)
    : self_(self), stream_(stream), fin_(std::move(fin)) {
    // nop
  }

  void process(std::vector<entry>& batch) override {
    take_batch(self_, stream_, batch);
  }

  int32_t acquire_credit(caf::inbound_path* path, int32_t desired) override {
    // The handshake's grant always: a path's first credit is bounded.
    if (path->last_batch_id == 0 || self_->state.followers.empty())
      return desired;
    return forwards_full(self_) ? 0 : desired;
  }

  void finalize(const caf::error& err) override {
    fin_(err);
  }

private:
  cache_actor_type* self_;
  uint64_t stream_;
  finalizer fin_;
};

} // namespace

caf::make_sink_result<entry>
attach_partition_sink(cache_actor_type* self, caf::stream<entry> in,
                      uint64_t stream,
                      std::function<void(const caf::error&)> fin) {
  return caf::attach_stream_sink<partition_sink>(self, in, self, stream,
                                                 std::move(fin));
}

uint64_t send_copy(cache_actor_type* self, const caf::actor& hdl) {
  auto& st = self->state;
  uint64_t sent = 0;
  std::vector<entry> chunk;
  chunk.reserve(copy_chunk);
  auto& layout = st.data->layout();
  // Oldest first, each with its age: the follower stores it as written
  // that long ago (`table::insert_copied`).
  st.data->for_each_aged([&](const record& x, caf::timespan age) {
    entry y;
    y.partition = st.index;
    y.value = packed::pack(x, layout).first;
    y.enqueued_ns = age.count();
    chunk.push_back(std::move(y));
    if (chunk.size() == copy_chunk) {
      sent += chunk.size();
      self->send(hdl, copy_atom::value, std::move(chunk));
      chunk = std::vector<entry>{};
      chunk.reserve(copy_chunk);
    }
  });
  if (!chunk.empty()) {
    sent += chunk.size();
    self->send(hdl, copy_atom::value, std::move(chunk));
  }
  return sent;
}

void forward(cache_actor_type* self, const caf::node_id& from,
             uint64_t stream, const std::vector<entry>& batch) {
  auto& st = self->state;
  auto overflowing = st.followers.end();
  for (auto f = st.followers.begin(); f != st.followers.end(); ++f) {
    if (std::find(f->direct.begin(), f->direct.end(), from) != f->direct.end())
      continue;
    if (stream != 0
        && std::find(f->direct_streams.begin(), f->direct_streams.end(),
                     stream)
             != f->direct_streams.end())
      continue;
    std::vector<entry> xs;
    xs.reserve(batch.size());
    const entry* handover = nullptr;
    for (auto& x : batch) {
      if (stream != 0 && is_handover(x)
          && static_cast<uint64_t>(x.enqueued_ns) == f->token) {
        handover = &x;
        break; // the buffer streams the rest to the follower itself
      }
      if (is_forwarded(x)) {
        xs.push_back(x);
        if (stream != 0)
          xs.back().enqueued_ns = 0; // a producer's clock: written just now
      }
    }
    if (!xs.empty()) {
      f->unacked += xs.size();
      self->send(f->hdl, copy_atom::value, std::move(xs));
    }
    if (handover != nullptr) {
      auto src = st.sources.find(stream);
      if (src != st.sources.end())
        self->send(f->hdl, follow_atom::value, src->second.slot.first,
                   src->second.slot.second, handover->barrier);
      f->direct_streams.push_back(stream);
    }
    if (f->unacked > max_unacked_forwards_hard)
      overflowing = f;
  }
  // Credit holds streams back at `max_unacked_forwards`; synchronous writes
  // have none (at most one follower per call goes).
  if (overflowing != st.followers.end())
    drop_follower(self, overflowing,
                  ("fell more than " + std::to_string(max_unacked_forwards_hard)
                   + " forwarded records behind")
                    .c_str());
}

void forward_clear(cache_actor_type* self, const caf::node_id& from) {
  // Anonymous: the follower's answer (a count) would come back here as an
  // unexpected message, logged and counted on both nodes.
  for (auto& f : self->state.followers)
    if (std::find(f.direct.begin(), f.direct.end(), from) == f.direct.end())
      caf::anon_send(f.hdl, clear_atom::value);
}

void copied(cache_actor_type* self, uint64_t n) {
  auto& st = self->state;
  auto sender = self->current_sender();
  auto i = std::find_if(st.followers.begin(), st.followers.end(),
                        [&](auto& f) { return f.hdl.address() == sender; });
  if (i == st.followers.end())
    return; // a follower dropped or replaced meanwhile: nothing to count
  auto of_copy = std::min(n, i->copy_unacked);
  i->copy_unacked -= of_copy;
  i->unacked -= std::min(n - of_copy, i->unacked);
  i->last_ack = clock_type::now();
}

bool forwards_full(cache_actor_type* self) {
  auto& st = self->state;
  bool full = false;
  auto now = clock_type::now();
  for (auto i = st.followers.begin(); i != st.followers.end();) {
    if (i->unacked <= max_unacked_forwards) {
      ++i;
    } else if (now - i->last_ack > follower_stall_limit) {
      drop_follower(self, i,
                    ("acknowledged nothing for "
                     + std::to_string(follower_stall_limit.count())
                     + " s while " + std::to_string(i->unacked)
                     + " forwarded records were waiting")
                      .c_str());
      i = st.followers.begin(); // erased: start over
    } else {
      full = true;
      ++i;
    }
  }
  return full;
}

void follower_gone(cache_actor_type* self, const caf::actor_addr& who) {
  auto& xs = self->state.followers;
  xs.erase(std::remove_if(xs.begin(), xs.end(),
                          [&](auto& f) { return f.hdl.address() == who; }),
           xs.end());
}

void dropped(cache_actor_type* self) {
  auto& st = self->state;
  if (!from_leader(self, "a drop"))
    return;
  std::fprintf(stderr,
               "supercache: cache partition %u: its leader dropped it (it "
               "fell behind); what the leader applies from now on does not "
               "reach it, except what producers stream here themselves\n",
               static_cast<unsigned>(st.index + 1));
  self->demonitor(st.leader);
  leader_gone(self);
}

} // namespace supercache
