#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "core/names.hpp"

namespace supercache {

/// Counters of one buffer, shared by its producers, the buffer actor and
/// readers of `stats()`. Producers write `enqueued` and `rejected`; the buffer
/// writes `written`, `dropped` and `batches`, on another cache line.
struct buffer_counters {
  /// Records accepted (lazy_put returned none, or a put_atom was answered ok).
  alignas(64) std::atomic<uint64_t> enqueued{0};

  /// Records refused with `errc::overloaded`.
  std::atomic<uint64_t> rejected{0};

  /// Of `enqueued`, the lazy erases: every counter here counts operations
  /// (records and erases alike); an applied erase counts as stored.
  std::atomic<uint64_t> erases{0};

  /// Records shipped to the cache in stream batches.
  alignas(64) std::atomic<uint64_t> written{0};

  /// Records dropped by the `drop-oldest` policy.
  std::atomic<uint64_t> dropped{0};

  /// Stream batches shipped to the cache.
  std::atomic<uint64_t> batches{0};

  /// Records lost: in flight to a partition that died before processing
  /// them, or held by a buffer that was killed (then also counted here and
  /// no longer pending).
  std::atomic<uint64_t> lost{0};

  /// Copies of partitions (lanes) this buffer stopped streaming to because
  /// their node went away while another copy lived (a cluster).
  std::atomic<uint64_t> replicas_lost{0};

  /// Records of this buffer that cache partitions processed (stored, or
  /// failed to store): advanced by local partitions as they apply batches,
  /// so that `pending()` counts records until they are stored.
  alignas(64) std::atomic<uint64_t> processed{0};

  /// Whether partitions advance `processed` (local partitions); a buffer
  /// streaming to a remote node counts records as done once shipped.
  bool end_to_end = true;

  /// Set by a buffer whose remote cache went away: producers then get
  /// `errc::unreachable` instead of queueing records that cannot arrive.
  std::atomic<bool> unreachable{false};

  /// Why the buffer gave up: written once, before `unreachable` is set
  /// (release), and read only after seeing it set (acquire).
  std::string failure_reason;

  /// Returns accepted records not yet stored, dropped or lost: queued in the
  /// buffer's mailbox or stage, in flight, or waiting in a partition's inbox
  /// (for a remote cache: not yet shipped). The bound `max-pending` applies
  /// to this count.
  ///
  /// The acquire load pairs with the partitions' release increments of
  /// `processed`: once this is 0, the records it counts are visible (a
  /// direct `put` is then ordered after them).
  uint64_t pending() const noexcept {
    auto done = end_to_end
                  ? processed.load(std::memory_order_acquire)
                      + dropped.load(std::memory_order_relaxed)
                      + lost.load(std::memory_order_relaxed)
                  : written.load(std::memory_order_relaxed)
                      + dropped.load(std::memory_order_relaxed)
                      + lost_held.load(std::memory_order_relaxed);
    // For a remote cache this equals `unshipped()`.
    auto in = enqueued.load(std::memory_order_relaxed);
    return in > done ? in - done : 0;
  }

  /// Returns accepted records not yet shipped, dropped or lost: what a
  /// buffer holds in its mailbox and stage.
  uint64_t unshipped() const noexcept {
    auto done = written.load(std::memory_order_relaxed)
                + dropped.load(std::memory_order_relaxed)
                + lost_held.load(std::memory_order_relaxed);
    auto in = enqueued.load(std::memory_order_relaxed);
    return in > done ? in - done : 0;
  }

  /// Of `lost`, the records that were still held (not yet written) when
  /// their buffer died.
  std::atomic<uint64_t> lost_held{0};

  /// Adds the counts of `x` to these (for totals).
  void add(const buffer_counters& x) noexcept {
    enqueued += x.enqueued.load();
    rejected += x.rejected.load();
    erases += x.erases.load();
    written += x.written.load();
    dropped += x.dropped.load();
    batches += x.batches.load();
    lost += x.lost.load();
    lost_held += x.lost_held.load();
    replicas_lost += x.replicas_lost.load();
    processed += x.processed.load();
  }
};

/// One stream from a local buffer to a local partition: what the buffer
/// shipped on it and what the partition processed of that. The difference
/// is in flight; once neither side can change its count any more, it is
/// lost (charged to `counters->lost`).
struct stream_ledger {
  /// Records the buffer shipped on the stream (written by the buffer).
  std::atomic<uint64_t> shipped{0};

  /// Records the partition processed of them (written by the partition).
  std::atomic<uint64_t> processed{0};

  /// The counters of the buffer's slot.
  std::shared_ptr<buffer_counters> counters;

  /// Set once the buffer died (its `shipped` is final); under the board's
  /// lock.
  bool buffer_gone = false;

  /// Set once the partition died (its `processed` is final); under the
  /// board's lock.
  bool partition_gone = false;
};

/// The counters of every buffer of an instance, by buffer index, and the
/// ledgers of the streams between its buffers and partitions: shared by the
/// instance, its buffers and its local partitions (which advance
/// `processed`). A slot is written only before the buffer of that index
/// starts, and read after its stream handshake.
///
/// A stream is settled exactly once, when both counts are final: by the
/// buffer when it closes its path to a partition that died, by the
/// partition when the buffer ended the stream, or by the supervisor when
/// it learns of the second of the two deaths (`buffer_gone`,
/// `partition_gone`). Streams are keyed by the actor ids of buffer and
/// partition, so a replacement buffer of the same index and a buffer of
/// another node (never local, so never in a ledger) are never confused.
struct counter_board {
  /// The actor ids of a local buffer and a local partition.
  using stream_key = std::pair<uint64_t, uint64_t>;

  std::array<std::shared_ptr<buffer_counters>, max_registered_id> slots;

  /// Returns the ledger of the stream from buffer `buffer` (with the
  /// counters `ctr`) to partition `partition`, opening it if needed.
  std::shared_ptr<stream_ledger> open(std::shared_ptr<buffer_counters> ctr,
                                      uint64_t buffer, uint64_t partition) {
    std::lock_guard<std::mutex> guard{mtx_};
    auto& x = streams_[stream_key{buffer, partition}];
    if (!x) {
      x = std::make_shared<stream_ledger>();
      x->counters = std::move(ctr);
    }
    return x;
  }

  /// Settles the stream from `buffer` to `partition`, whose counts are
  /// final: the buffer closed its path after the partition died, or the
  /// partition saw the buffer end the stream.
  void settle(uint64_t buffer, uint64_t partition) {
    std::lock_guard<std::mutex> guard{mtx_};
    auto i = streams_.find(stream_key{buffer, partition});
    if (i != streams_.end())
      settle(i);
  }

  /// Marks the streams of the dead buffer `buffer` and settles those whose
  /// partition died too.
  void buffer_gone(uint64_t buffer) {
    std::lock_guard<std::mutex> guard{mtx_};
    auto i = streams_.lower_bound(stream_key{buffer, 0});
    while (i != streams_.end() && i->first.first == buffer) {
      i->second->buffer_gone = true;
      i = i->second->partition_gone ? settle(i) : std::next(i);
    }
  }

  /// Marks the streams into the dead partition `partition` and settles
  /// those whose buffer died too (a live buffer settles its own when it
  /// learns of the death).
  void partition_gone(uint64_t partition) {
    std::lock_guard<std::mutex> guard{mtx_};
    for (auto i = streams_.begin(); i != streams_.end();) {
      if (i->first.second != partition) {
        ++i;
        continue;
      }
      i->second->partition_gone = true;
      i = i->second->buffer_gone ? settle(i) : std::next(i);
    }
  }

  /// Forgets every stream (the instance stopped: none is in flight).
  void clear() {
    std::lock_guard<std::mutex> guard{mtx_};
    streams_.clear();
  }

  /// Returns the number of streams not settled yet.
  size_t open_streams() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return streams_.size();
  }

private:
  using stream_map = std::map<stream_key, std::shared_ptr<stream_ledger>>;

  /// Charges what `i` shipped and was never processed as lost and forgets
  /// the stream; returns the next one.
  stream_map::iterator settle(stream_map::iterator i) {
    auto& x = *i->second;
    auto shipped = x.shipped.load();
    auto processed = x.processed.load();
    if (shipped > processed && x.counters)
      x.counters->lost.fetch_add(shipped - processed);
    return streams_.erase(i);
  }

  mutable std::mutex mtx_;
  stream_map streams_;
};

} // namespace supercache
