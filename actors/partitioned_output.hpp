#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <algorithm>
#include <limits>
#include <vector>

#include <caf/buffered_downstream_manager.hpp>
#include <caf/outbound_path.hpp>
#include <caf/scheduled_actor.hpp>
#include <caf/stream_slot.hpp>

namespace supercache {

/// A CAF downstream manager that sends each element to exactly one of its
/// paths, the one assigned to the element's partition, by move.
///
/// With replicas (a cluster, `core/cluster_map.hpp`), each "partition" here
/// is one copy of a cache partition, a lane: the buffer pushes a record to
/// every lane of its partition (`group`), and a record counts as written
/// once it shipped on every live lane of its group. A lane whose node went
/// away is retired: its queue is dropped (the other lanes hold the same
/// records) and it no longer holds its group back.
///
/// CAF's `broadcast_downstream_manager` with a filter copies every element
/// into each selected path and gives all paths the credit of the slowest one.
/// Here each partition has its own queue and its own credit: a slow partition
/// holds back only its own records. Elements pushed for a partition whose path
/// is not open yet (handshake pending) or not assigned wait in its queue.
template <class T>
class partitioned_output : public caf::buffered_downstream_manager<T> {
public:
  // -- member types -----------------------------------------------------------

  using super = caf::buffered_downstream_manager<T>;

  // -- constructors -----------------------------------------------------------

  explicit partitioned_output(caf::stream_manager* parent) : super(parent) {
    // nop
  }

  // -- properties -------------------------------------------------------------

  /// Sets the number of partitions; call before pushing.
  void partitions(size_t n) {
    group_of_.resize(n);
    for (size_t i = 0; i < n; ++i)
      group_of_[i] = i;
    group_written_.resize(n, 0);
    lane_records_.resize(n, 0);
    retired_.resize(n, false);
    queues_.resize(n);
    slots_.resize(n, caf::invalid_stream_slot);
    barriers_.resize(n, 0);
    shipped_.resize(n, nullptr);
  }

  /// Returns the number of partitions.
  size_t partitions() const noexcept {
    return queues_.size();
  }

  /// Makes lane `i` one copy of group `group_of[i]` (call after
  /// `partitions`, before pushing): a group's records count as written once
  /// every live lane of it shipped them.
  void groups(const std::vector<uint32_t>& group_of) {
    group_of_.assign(group_of.begin(), group_of.end());
    members_.clear();
    for (size_t i = 0; i < group_of_.size(); ++i) {
      if (group_of_[i] >= members_.size())
        members_.resize(group_of_[i] + 1);
      members_[group_of_[i]].push_back(i);
    }
  }

  /// Adds a lane to group `g` (a copy of a partition that came back) and
  /// returns its index: a retired lane of `g` if there is one (so a copy
  /// that goes and comes back again and again adds no lanes), else a new
  /// one. It carries only what is pushed from now on: its group counts a
  /// record written once the lanes that got it shipped it.
  size_t add_lane(size_t g) {
    if (members_.empty()) {
      members_.resize(group_of_.size());
      for (size_t i = 0; i < group_of_.size(); ++i)
        members_[group_of_[i]].push_back(i);
    }
    // Records pushed to the group so far, as a live lane counts them:
    // shipped plus queued (no barriers).
    uint64_t pushed = group_written_[g];
    for (auto j : members_[g])
      if (!retired_[j])
        pushed = std::max(pushed, lane_records_[j] + queues_[j].size()
                                    - barriers_[j]);
    for (auto j : members_[g])
      if (retired_[j]) {
        // `retire` dropped its queue, barriers and path already.
        retired_[j] = false;
        lane_records_[j] = pushed;
        shipped_[j] = nullptr;
        return j;
      }
    auto i = queues_.size();
    group_of_.push_back(g);
    members_[g].push_back(i);
    lane_records_.push_back(pushed);
    retired_.push_back(false);
    queues_.emplace_back();
    slots_.push_back(caf::invalid_stream_slot);
    barriers_.push_back(0);
    shipped_.push_back(nullptr);
    return i;
  }

  /// Retires lane `i`: drops its queue and stops waiting for it.
  void retire(size_t i) {
    if (retired_[i])
      return;
    retired_[i] = true;
    queues_[i].clear();
    barriers_[i] = 0;
    slots_[i] = caf::invalid_stream_slot;
    advance(group_of_[i]);
  }

  /// Returns whether lane `i` was retired.
  bool retired(size_t i) const noexcept {
    return retired_[i];
  }

  /// Routes the elements of `partition` to the path at `slot` and counts
  /// the records (no barriers) shipped on it in `*shipped` (may be null).
  void assign(caf::stream_slot slot, size_t partition,
              std::atomic<uint64_t>* shipped = nullptr) {
    slots_[partition] = slot;
    shipped_[partition] = shipped;
  }

  /// Returns the path slot of `partition`, or `invalid_stream_slot`.
  caf::stream_slot slot_of(size_t partition) const noexcept {
    return slots_[partition];
  }

  /// Returns the number of elements waiting for `partition`.
  size_t queued(size_t partition) const noexcept {
    return queues_[partition].size();
  }

  /// Counts every shipped element in `*written` and every shipped batch in
  /// `*batches` (both may be null).
  void count_into(std::atomic<uint64_t>* written,
                  std::atomic<uint64_t>* batches) noexcept {
    written_ = written;
    batches_ = batches;
  }

  // -- pushing ----------------------------------------------------------------

  /// Queues `x` for `partition`; returns false (and drops `x`) if there is
  /// no such partition.
  bool push_to(size_t partition, T&& x) {
    if (partition >= queues_.size())
      return false;
    queues_[partition].emplace_back(std::move(x));
    return true;
  }

  /// Removes up to `n` of the oldest elements queued for `partition` that are
  /// no barriers (`is_barrier(x)`, found by ADL), in one pass; returns how
  /// many it removed.
  size_t drop_oldest(size_t partition, size_t n) {
    if (partition >= queues_.size())
      return 0;
    auto& q = queues_[partition];
    size_t dropped = 0;
    auto last = q.begin();
    while (last != q.end() && dropped < n) {
      if (!is_barrier(*last))
        ++dropped;
      ++last;
    }
    q.erase(std::remove_if(q.begin(), last,
                           [](const T& x) { return !is_barrier(x); }),
            last);
    return dropped;
  }

  /// Queues a copy of the barrier `x` for `partition` only.
  void push_barrier_to(size_t partition, const T& x) {
    queues_[partition].emplace_back(x);
    ++barriers_[partition];
  }

  /// Queues a copy of the barrier `x` for every partition.
  void push_to_all(const T& x) {
    for (size_t i = 0; i < queues_.size(); ++i) {
      if (retired_[i])
        continue;
      queues_[i].emplace_back(x);
      ++barriers_[i];
    }
  }

  // -- overridden functions ---------------------------------------------------

  size_t buffered() const noexcept override {
    auto result = this->buf_.size();
    for (auto& q : queues_)
      result += q.size();
    return result;
  }

  size_t buffered(caf::stream_slot slot) const noexcept override {
    for (size_t i = 0; i < slots_.size(); ++i)
      if (slots_[i] == slot)
        return queues_[i].size();
    return 0;
  }

  int32_t max_capacity() const noexcept override {
    auto result = std::numeric_limits<int32_t>::max();
    for (auto& kvp : this->paths_) {
      auto mc = kvp.second->max_capacity;
      if (mc > 0)
        result = std::min(result, mc);
    }
    return result;
  }

  void emit_batches() override {
    emit_batches_impl(false);
  }

  void force_emit_batches() override {
    emit_batches_impl(true);
  }

  /// Removes every path without sending the sinks a close. CAF 0.17 closes
  /// each sink anyway when this actor terminates: acknowledging a handshake
  /// attaches a stream aborter to this actor that sends the sink's actor a
  /// `forced_close` addressed by the sink's slot alone. A close sent here
  /// as well would free that slot first, and the partition gives a freed
  /// slot to the next stream it opens, e.g. the replacement buffer's, which
  /// the aborter's late close would then end. So the aborter's close is the
  /// only one, and it arrives behind every batch this actor shipped. Only
  /// call this when the actor terminates (CAF does on an error exit).
  void abort(caf::error reason) override {
    this->for_each_path(
      [&](caf::outbound_path& x) { about_to_erase(&x, true, &reason); });
    this->clear_paths();
  }

protected:
  void about_to_erase(caf::outbound_path* ptr, bool silent,
                      caf::error* reason) override {
    for (auto& slot : slots_)
      if (slot == ptr->slots.sender)
        slot = caf::invalid_stream_slot;
    super::about_to_erase(ptr, silent, reason);
  }

private:
  void emit_batches_impl(bool force_underfull) {
    for (size_t i = 0; i < queues_.size(); ++i) {
      if (slots_[i] == caf::invalid_stream_slot || queues_[i].empty())
        continue;
      if (auto path = this->path(slots_[i])) {
        auto& q = queues_[i];
        // Remember where barriers sit among the elements that may ship, so
        // only records are counted as written.
        barrier_positions_.clear();
        if (barriers_[i] > 0) {
          auto limit = std::min(q.size(), static_cast<size_t>(
                                            std::max(path->open_credit, 0)));
          for (size_t j = 0; j < limit; ++j)
            if (is_barrier(q[j]))
              barrier_positions_.push_back(j);
        }
        auto before = q.size();
        // A queued barrier never waits for a batch to fill: a flush is
        // waiting for it (e.g. a barrier queued while the path's handshake
        // was pending ships as soon as CAF reports the path open).
        path->emit_batches(this->self(), q,
                           force_underfull || path->closing
                             || barriers_[i] > 0);
        auto shipped = before - q.size();
        size_t shipped_barriers = 0;
        for (auto pos : barrier_positions_)
          if (pos < shipped)
            ++shipped_barriers;
        barriers_[i] -= shipped_barriers;
        if (shipped_[i] != nullptr)
          shipped_[i]->fetch_add(shipped - shipped_barriers,
                                 std::memory_order_relaxed);
        lane_records_[i] += shipped - shipped_barriers;
        count_shipped(shipped, static_cast<size_t>(path->desired_batch_size));
        advance(group_of_[i]);
      }
    }
  }

  /// Counts the batches of `n` shipped elements: `outbound_path::
  /// emit_batches` ships full batches of `batch_size` and at most one
  /// underfull batch.
  void count_shipped(size_t n, size_t batch_size) noexcept {
    if (n == 0)
      return;
    if (batches_ != nullptr && batch_size > 0)
      batches_->fetch_add(n / batch_size + (n % batch_size != 0 ? 1 : 0),
                          std::memory_order_relaxed);
  }

  /// Counts as written the records of group `g` that every live lane of it
  /// shipped (nothing more once no lane is left: the buffer then gives up
  /// and counts what it held as lost).
  void advance(size_t g) {
    uint64_t least = std::numeric_limits<uint64_t>::max();
    if (members_.empty()) {
      // One lane per group, lane `g` (no replicas): no search on the hot
      // path.
      if (!retired_[g])
        least = lane_records_[g];
    } else {
      for (auto i : members_[g])
        if (!retired_[i])
          least = std::min(least, lane_records_[i]);
    }
    if (least == std::numeric_limits<uint64_t>::max())
      return;
    if (least > group_written_[g]) {
      if (written_ != nullptr)
        written_->fetch_add(least - group_written_[g],
                            std::memory_order_relaxed);
      group_written_[g] = least;
    }
  }

  std::atomic<uint64_t>* written_ = nullptr;

  /// The group of each lane (its partition), and the records written of
  /// each group (shipped on every live lane of it).
  std::vector<size_t> group_of_;
  std::vector<uint64_t> group_written_;

  /// The lanes of each group; empty without replicas (lane `g` is group
  /// `g`).
  std::vector<std::vector<size_t>> members_;

  /// Records (no barriers) shipped on each lane, and the retired lanes.
  std::vector<uint64_t> lane_records_;
  std::vector<bool> retired_;
  std::atomic<uint64_t>* batches_ = nullptr;

  /// Elements waiting for each partition, oldest first.
  std::vector<std::vector<T>> queues_;

  /// The path of each partition, or `invalid_stream_slot`.
  std::vector<caf::stream_slot> slots_;

  /// Number of barriers in each queue.
  std::vector<size_t> barriers_;

  /// Where to count the records shipped on each partition's current path.
  std::vector<std::atomic<uint64_t>*> shipped_;

  /// Scratch: positions of barriers among the elements that may ship.
  std::vector<size_t> barrier_positions_;
};

} // namespace supercache
