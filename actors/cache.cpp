#include "actors/cache.hpp"

#include <algorithm>

#include <caf/attach_stream_sink.hpp>
#include <caf/stream.hpp>
#include <caf/unit.hpp>

#include <supercache/errc.hpp>
#include <supercache/supercache.hpp>

#include "actors/cache_follow.hpp"
#include "core/names.hpp"
#include "core/pattern.hpp"

namespace supercache {

namespace {

using cache_actor_ptr = cache_actor_type*;

using buffer_slot = cache_state::buffer_slot;

/// Returns whether a stream of buffer `slot` older than `stream` is open.
bool older_open(const cache_state& st, const buffer_slot& slot,
                uint64_t stream) {
  auto i = st.open.find(slot);
  return i != st.open.end() && !i->second.empty()
         && i->second.front() < stream;
}

/// Acknowledges `barrier` to `upstream`, or holds the acknowledgment back
/// while an older stream of the same buffer index is open: that stream's
/// buffer died (or stopped) and the records it shipped before are not all
/// processed yet.
void acknowledge(cache_actor_ptr self, const buffer_slot& slot,
                 uint64_t stream, const caf::actor& upstream,
                 uint64_t barrier) {
  auto& st = self->state;
  if (older_open(st, slot, stream))
    st.held.push_back({slot, stream, upstream, barrier});
  else
    self->send(upstream, flushed_atom::value, barrier);
}

/// Forgets stream `stream` of buffer `index` after its sink closed and sends
/// the acknowledgments that no longer wait for an older stream.
void close_stream(cache_actor_ptr self, const buffer_slot& slot,
                  uint64_t stream) {
  auto& st = self->state;
  auto& ids = st.open[slot];
  ids.erase(std::remove(ids.begin(), ids.end(), stream), ids.end());
  if (ids.empty())
    st.open.erase(slot);
  auto& held = st.held;
  auto last = std::remove_if(held.begin(), held.end(), [&](auto& x) {
    if (older_open(st, x.slot, x.stream))
      return false;
    self->send(x.upstream, flushed_atom::value, x.barrier);
    return true;
  });
  held.erase(last, held.end());
}

/// Stores every record of `xs` under one lock if each is valid and belongs
/// to partition `index` of `partitions`; else stores none and returns
/// `invalid_record` naming the first bad one's index.
caf::error put_all(table& tbl, const std::vector<record>& xs, uint32_t index,
                   uint32_t partitions) {
  auto refuse = [](size_t i, const std::string& why) {
    return make_error(errc::invalid_record,
                      "put_batch: record " + std::to_string(i)
                        + " (0-based): " + why
                        + "; no record of the batch was stored");
  };
  std::vector<packed> packs;
  packs.reserve(xs.size());
  for (size_t i = 0; i < xs.size(); ++i) {
    if (auto err = validate(xs[i], tbl.layout()))
      return refuse(i, render(err));
    auto [value, hash] = packed::pack(xs[i], tbl.layout());
    // Any actor may send this, a peer too (see the single put).
    if (auto owner = partition_index(hash, partitions); owner != index)
      return refuse(i, "the record belongs to cache partition "
                         + std::to_string(owner + 1) + ", not "
                         + std::to_string(index + 1));
    packs.push_back(std::move(value));
  }
  if (!tbl.insert_direct(packs.data(), packs.size()))
    return make_error(errc::not_started, "the cache partition is stopping");
  return caf::none;
}

/// Returns the node of the current message's sender (none if anonymous).
caf::node_id sender_node(cache_actor_ptr self) {
  auto& x = self->current_sender();
  return x ? x->node() : caf::node_id{};
}

/// Returns `invalid_option`, counted as refused, if the current message,
/// `what` (a synchronous write, with its article), comes from a node that
/// may not write here (core/placed_peers.hpp); none otherwise.
caf::error check_writer(cache_actor_ptr self, const char* what) {
  auto& placed = self->guards().placed;
  if (!placed.closed() || self->sender_is_local()
      || placed.admits(sender_node(self)))
    return caf::none;
  self->guards().refused.fetch_add(1, std::memory_order_relaxed);
  auto partition = "cache partition " + std::to_string(self->state.index + 1);
  log_refused(std::string{what} + " to " + partition
              + " from a node that never stated its place was refused");
  return make_error(errc::invalid_option,
                    std::string{what} + " to " + partition
                      + " was refused: this cache node is configured with "
                        "its place in a cluster (its supercache.remote) and "
                        "takes writes only from producers that stated that "
                        "place at connect, which the sender's node did not: "
                        "connect with the cluster's remote list, partitions "
                        "and replicas");
}

/// Blanks every record of `batch` if its node `from` may not write here
/// (core/placed_peers.hpp), and returns how many it blanked; barriers stay.
size_t check_placed(cache_actor_ptr self, std::vector<entry>& batch,
                    const caf::node_id& from) {
  if (self->guards().placed.admits(from))
    return 0;
  size_t blanked = 0;
  for (auto& x : batch)
    if (!is_barrier(x) && !x.value.empty()) {
      x.value = packed{};
      ++blanked;
    }
  if (blanked > 0)
    log_refused(std::to_string(blanked) + " records to cache partition "
                + std::to_string(self->state.index + 1)
                + " from a node that never stated its place were refused");
  return blanked;
}

/// Write-order entries one `reclaim_atom` pops under one write lock.
constexpr size_t reclaim_chunk = 4096;

} // namespace

void apply_stream_batch(cache_actor_ptr self, const cache_state::source& from,
                        std::vector<entry>& batch) {
  auto& st = self->state;
  auto& upstream = from.upstream;
  auto unplaced = from.remote ? check_placed(self, batch, from.slot.first) : 0;
  auto n = check_batch(batch, st.index);
  if (from.remote)
    n += check_owner(batch, st.index, st.partitions, st.data->layout());
  if (unplaced > 0)
    self->guards().refused_records.fetch_add(unplaced,
                                             std::memory_order_relaxed);
  if (n > 0) {
    self->guards().refused_records.fetch_add(n, std::memory_order_relaxed);
    log_refused(std::to_string(n) + " records for another partition "
                "to cache partition " + std::to_string(st.index + 1)
                + " were refused");
  }
  // Counted in one pass before `insert`, which moves the stored records
  // out; records blanked above count as refused too.
  uint64_t records = 0;
  uint64_t refused = 0;
  for (auto& x : batch)
    if (!is_barrier(x)) {
      ++records;
      refused += x.value.empty() ? 1 : 0;
    }
  if (!st.followers.empty())
    forward(self, from.slot.first, from.stream, batch);
  // Only batches count in `failed()`, and only this actor applies them:
  // its growth is this batch's records whose insertion threw.
  auto failed_before = st.data->failed();
  st.data->insert(batch);
  // Refused and failed records are processed but not stored: the sender
  // counts them as lost.
  auto lost = refused + (st.data->failed() - failed_before);
  if (lost > 0)
    self->send(upstream, refused_atom::value, lost);
  if (from.ledger) {
    from.ledger->processed.fetch_add(records, std::memory_order_relaxed);
    // Release: a `put` that sees this count sees the records.
    from.ledger->counters->processed.fetch_add(records - lost,
                                               std::memory_order_release);
  }
  for (auto& x : batch)
    if (x.barrier != 0)
      acknowledge(self, from.slot, from.stream, upstream, x.barrier);
}

caf::behavior cache_actor(cache_actor_ptr self, uint32_t index,
                          uint32_t partitions, std::shared_ptr<table> data,
                          std::shared_ptr<counter_board> board,
                          guard_counters_ptr guards) {
  self->count_into(std::move(guards));
  self->state.index = index;
  self->state.partitions = partitions;
  self->state.data = std::move(data);
  self->state.board = std::move(board);
  self->set_down_handler([=](caf::down_msg& msg) {
    auto& leader = self->state.leader;
    if (leader && msg.source == leader.address())
      leader_gone(self);
    else
      follower_gone(self, msg.source);
  });
  auto period = self->state.data->reclaim_period();
  if (period.count() > 0)
    self->delayed_send(self, period, reclaim_atom::value);
  return {
    [=](caf::stream<entry> in, uint32_t buffer_index) {
      // One sink per buffer; barriers are acknowledged to that buffer.
      auto upstream = caf::actor_cast<caf::actor>(self->current_sender());
      if (!check_handshake(buffer_index)) {
        // Take the stream, store none of it (see cache.hpp).
        self->guards().refused.fetch_add(1, std::memory_order_relaxed);
        log_refused("a stream with buffer index "
                    + std::to_string(buffer_index) + " to cache partition "
                    + std::to_string(self->state.index + 1) + " was refused");
        return caf::attach_stream_sink(
          self, in, [](caf::unit_t&) {},
          [=](caf::unit_t&, std::vector<entry>& batch) {
            self->guards().refused_records.fetch_add(batch.size(),
                                               std::memory_order_relaxed);
          },
          [](caf::unit_t&, const caf::error&) {});
      }
      auto stream = self->state.next_stream++;
      auto slot = buffer_slot{upstream.node(), buffer_index};
      // Local buffers pick partitions themselves; a peer's records are
      // checked against their own bytes.
      auto remote = upstream.node() != self->node();
      self->state.open[slot].push_back(stream);
      // A local buffer learns what this partition processed of its records
      // (its bound counts records until they are stored), and the stream's
      // ledger what is still in flight (if this partition dies).
      std::shared_ptr<stream_ledger> ledger;
      auto ledgers = self->state.board;
      if (ledgers && upstream.node() == self->node()
          && buffer_index < ledgers->slots.size()
          && ledgers->slots[buffer_index])
        ledger = ledgers->open(ledgers->slots[buffer_index], upstream.id(),
                               self->id());
      auto& src = self->state.sources[stream];
      src = {slot, stream, upstream, ledger, remote, false};
      tell_followers(self, src); // a producer that streams here only
      return attach_partition_sink(
        self, in, stream, [=](const caf::error& err) {
          if (err)
            CAF_LOG_WARNING("stream from a buffer closed: " << err);
          // Without a behavior the partition is terminating (its state may
          // be gone already): nobody waits for its acknowledgments, and the
          // supervisor settles the ledger (`counter_board::partition_gone`).
          // Otherwise the buffer ended the stream behind its last batch.
          if (self->has_behavior()) {
            self->state.sources.erase(stream);
            for (auto& f : self->state.followers) {
              auto& xs = f.direct_streams;
              xs.erase(std::remove(xs.begin(), xs.end(), stream), xs.end());
            }
            close_stream(self, slot, stream);
            if (ledger)
              ledgers->settle(upstream.id(), self->id());
          }
        });
    },
    [=](caf::put_atom, const record& x) -> caf::result<caf::ok_atom> {
      if (auto err = check_writer(self, "a put"))
        return err;
      auto& tbl = *self->state.data;
      if (auto err = validate(x, tbl.layout()))
        return err;
      auto [value, hash] = packed::pack(x, tbl.layout());
      // Any actor may send this, a peer too: a record of another partition
      // would be stored where `get` never looks.
      auto& st = self->state;
      if (auto owner = partition_index(hash, st.partitions);
          owner != st.index)
        return make_error(errc::invalid_record,
                          "the record belongs to cache partition "
                            + std::to_string(owner + 1) + ", not "
                            + std::to_string(st.index + 1));
      if (!st.followers.empty())
        forward(self, sender_node(self), 0,
                {entry{st.index, 0, value, 0, false}});
      tbl.insert(std::move(value));
      return caf::ok_atom::value;
    },
    [=](caf::put_atom,
        const std::vector<record>& xs) -> caf::result<caf::ok_atom> {
      if (auto err = check_writer(self, "a put_batch"))
        return err;
      auto& st = self->state;
      if (auto err = put_all(*st.data, xs, st.index, st.partitions))
        return err;
      if (!st.followers.empty()) {
        std::vector<entry> ys;
        for (auto& x : xs)
          ys.push_back({st.index, 0,
                        packed::pack(x, st.data->layout()).first, 0, false});
        forward(self, sender_node(self), 0, ys);
      }
      return caf::ok_atom::value;
    },
    [=](caf::get_atom,
        const record& pattern) -> caf::expected<std::vector<record>> {
      // Not caf::result: its brace-initialization would wrap the vector into
      // one JSON value (std::vector<json>'s initializer_list constructor).
      auto& tbl = *self->state.data;
      auto& layout = tbl.layout();
      if (auto err = validate(pattern, layout))
        return err;
      // The records of the key: a match that fixes the key element alone.
      auto key_only = record::array();
      key_only.get_ref<record::array_t&>().resize(layout.key_pos + 1);
      key_only[layout.key_pos] = pattern[layout.key_pos];
      auto compiled = record_pattern::make(key_only, layout);
      if (!compiled)
        return std::move(compiled.error());
      return tbl.match(*compiled, max_reply_bytes, "a get reply");
    },
    [=](erase_atom, const record& pattern) -> caf::expected<uint64_t> {
      if (auto err = check_writer(self, "an erase"))
        return err;
      auto& tbl = *self->state.data;
      if (auto err = validate(pattern, tbl.layout()))
        return err;
      auto& st = self->state;
      if (!st.followers.empty())
        forward(self, sender_node(self), 0,
                {entry{st.index, 0, packed::pack(pattern, tbl.layout()).first,
                       0, true}});
      return static_cast<uint64_t>(tbl.erase(key_of(pattern, tbl.layout())));
    },
    [=](match_atom,
        const record& pattern) -> caf::expected<std::vector<record>> {
      auto& tbl = *self->state.data;
      auto compiled = record_pattern::make(pattern, tbl.layout());
      if (!compiled)
        return std::move(compiled.error());
      return tbl.match(*compiled, max_reply_bytes, "a match reply");
    },
    [=](clear_atom) -> caf::expected<uint64_t> {
      if (auto err = check_writer(self, "a clear"))
        return err;
      if (!self->state.followers.empty())
        forward_clear(self, sender_node(self));
      return static_cast<uint64_t>(self->state.data->clear());
    },
    [=](size_atom) { return static_cast<uint64_t>(self->state.data->size()); },
    [=](stats_atom) -> record { return to_json(*self->state.data); },
    [=](rejoin_atom, caf::actor& leader, const caf::node_id& direct,
        caf::timespan timeout) {
      return rejoin(self, std::move(leader), direct, timeout);
    },
    [=](follow_atom, const caf::node_id& direct) {
      return follow(self, direct);
    },
    [=](copy_atom, std::vector<entry>& batch) { apply_copy(self, batch); },
    [=](vouch_atom, const caf::node_id& producer) { vouch(self, producer); },
    [=](copied_atom, uint64_t n) { copied(self, n); },
    [=](dropped_atom) { dropped(self); },
    [=](follow_atom, const caf::node_id& node, uint32_t buffer_index,
        uint64_t barrier) { handed_over(self, node, buffer_index, barrier); },
    [=](reclaim_atom) {
      // Only this partition's own timer: one chain of them, never more.
      if (self->current_sender() != self->ctrl())
        return;
      if (self->state.data->reclaim(reclaim_chunk))
        self->send(self, reclaim_atom::value); // more due: after the inbox
      else
        self->delayed_send(self, period, reclaim_atom::value);
    },
  };
}

caf::atom_value cache_name(size_t id) {
  return numbered_name("cache_", id);
}

} // namespace supercache
