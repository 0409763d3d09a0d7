#pragma once

/// The state of one `supercache::instance`: what its calls, its supervisor
/// and its front share. Internal; not installed.
///
/// Two parts. The cache (`cache_view`) is an immutable snapshot swapped as
/// a whole (a partition restart publishes a new one), read lock-free: with
/// `std::atomic_load` by calls that may wait, and through a `view_pin` (no
/// shared reference count, no lock) by the calls of the hot path. The buffers are read by `lazy_put` on the hot path
/// behind `buffer_gate`: their fields are written only while the gate is
/// closed and drained.

#include <array>
#include <chrono>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>
#include <caf/actor_system.hpp>
#include <caf/timespan.hpp>

#include <supercache/options.hpp>
#include <supercache/record.hpp>

#include "actors/remote_guard.hpp"
#include "core/buffer_counters.hpp"
#include "core/cluster_place.hpp"
#include "core/gate.hpp"
#include "core/names.hpp"
#include "core/rejoined.hpp"
#include "core/routing.hpp"
#include "core/table.hpp"

namespace supercache {

class instance;

} // namespace supercache

namespace supercache::detail {

/// An immutable snapshot of a running cache, shared with readers.
struct cache_view {
  options opts;
  record_layout layout;
  std::vector<caf::actor> partitions;
  /// Empty when the partitions are remote.
  std::vector<std::shared_ptr<table>> tables;
  /// The front of the cache node this instance connected to, or invalid
  /// (the first node of a cluster).
  caf::actor remote;
  /// `HOST:PORT` of that node (the `remote` list of a cluster), for error
  /// messages.
  std::string peer;

  // -- a cluster (core/cluster_map.hpp); one node is a cluster of one ------

  /// The front and `HOST:PORT` of each node, in map order.
  std::vector<caf::actor> fronts;
  std::vector<std::string> nodes;

  /// The copies of each partition, primary first (`partitions[p]` is the
  /// primary), and the node index of each copy.
  std::vector<std::vector<caf::actor>> copies;
  std::vector<std::vector<size_t>> copy_nodes;

  /// What every node was told (`cluster_atom`); empty for one node with one
  /// replica, unless that node was started with its place (then it is told).
  std::string cluster;

  /// Why this instance may read but not write (`lazy_put`, `put`, `erase`,
  /// ...; `invalid_option`), or empty: it lists one node, which was started
  /// as a node of another cluster (`connect`, instance/cluster.cpp).
  std::string read_only;

  /// The copies the buffers took back after nodes restarted and rejoined
  /// (null without replicas): reads try them after `copies`.
  std::shared_ptr<rejoined_copies> rejoined;

  /// Returns the index of node `addr` (`HOST:PORT`) in `nodes`, or
  /// `nodes.size()`.
  size_t node_index(const std::string& addr) const {
    size_t k = 0;
    while (k < nodes.size() && nodes[k] != addr)
      ++k;
    return k;
  }
};

using cache_ptr = std::shared_ptr<const cache_view>;

/// Counters of several buffers.
using counter_list = std::vector<std::shared_ptr<buffer_counters>>;

/// Everything one instance owns.
struct instance_state {
  explicit instance_state(caf::actor_system& x);

  // -- the system -------------------------------------------------------------

  caf::actor_system& sys;

  /// Worker threads of `sys`, by worker id (empty unless its scheduler is
  /// CAF's work-stealing coordinator); fixed at construction.
  std::vector<std::thread::id> workers;

  /// The logger of `sys`, to tell its threads from other systems'; only
  /// compared, never dereferenced (a stopped instance may outlive `sys`).
  const caf::logger* logger;

  /// A process-unique id, so that per-thread caches never mistake one
  /// instance for another that reuses its address.
  uint64_t id;

  /// Returns whether the calling thread belongs to another actor system (a
  /// worker or a detached actor of it).
  bool on_foreign_system() const noexcept;

  // -- the cache --------------------------------------------------------------

  /// Serializes start, connect, publish and stop.
  std::mutex lifecycle;

  /// The running cache, or null; read with `load()`.
  cache_ptr cache;

  /// Returns the running cache (for calls that may wait; the hot path pins).
  cache_ptr load() const {
    return std::atomic_load(&cache);
  }

  /// Publishes `x` as the running cache. The view it replaces is freed once
  /// no `view_pin` may still read it (at once if none is in flight, else at
  /// a later `store` or `drain_views`). Any thread; never waits for readers.
  void store(cache_ptr x);

  /// Frees the replaced views, waiting up to `timeout` (real time) for the
  /// pinned calls that may read them; returns whether none is left. Pinned
  /// calls never block, so this ends quickly; `stop` calls it.
  bool drain_views(std::chrono::milliseconds timeout);

  // -- the cache on the hot path ----------------------------------------------

  /// Calls in flight through a `view_pin`, one counter per cache line,
  /// picked by the calling thread's `routing::thread_index`.
  struct alignas(64) reader_stripe {
    std::atomic<uint64_t> n{0};
  };

  static constexpr size_t reader_stripes = 16;

  std::array<reader_stripe, reader_stripes> readers;

  /// The view `cache` holds, for pinned calls.
  std::atomic<const cache_view*> current{nullptr};

  /// Views replaced while pinned calls may read them. Guarded by `views_mtx`.
  std::vector<cache_ptr> retired_views;

  /// Serializes `store` and `drain_views` (not `lifecycle`: a partition
  /// restart publishes from the supervisor, without it).
  std::mutex views_mtx;

  /// What the guards of this instance's actors refused (partitions,
  /// buffers, supervisor, front), reported by `stats()`.
  guard_counters_ptr guards = std::make_shared<guard_counters>();

  /// Records stored in partitions that died (gone with them).
  std::atomic<uint64_t> lost_stored{0};

  /// Records in the cache when the last `stop` ended it; -1 before.
  std::atomic<int64_t> stopped_size{-1};

  /// The supervisor, and the front (registered as `instance::front_name()`,
  /// published by `publish`), or invalid.
  caf::actor supervisor;
  caf::actor front;
  uint16_t published_port = 0;

  /// This node's place in the cluster of `options::remote`, set by `publish`
  /// before the port opens when that list is configured, else null; read by
  /// the front (`std::atomic_load`).
  std::shared_ptr<const cluster_place> place;

  // -- the buffers (behind the gate) ------------------------------------------

  /// Admits `lazy_put`, `flush` and `stats` while the buffers run.
  gate buffer_gate;

  /// Counters by buffer index, shared with the buffers and the partitions
  /// (which count the records they processed into them).
  std::shared_ptr<counter_board> counters;

  std::array<caf::actor, max_registered_id> buffers;
  size_t num_buffers = 0;

  /// The counters of the buffers stopped since the instance started (by
  /// `buffer::stop`): `stats` keeps them in its totals, so that what those
  /// buffers dropped or lost while stopping stays counted. An immutable
  /// list, swapped under `lifecycle`; read with `std::atomic_load`.
  std::shared_ptr<const counter_list> retired;

  /// Whether buffers run (between `start_buffers` and `stop_buffers`, also
  /// while the gate is closed for a replacement); written under `lifecycle`.
  std::atomic<bool> buffers_running{false};

  // Copies of the options for the hot path.
  record_layout layout;
  size_t partitions = 1;
  size_t max_pending = 1;
  overflow_policy overflow = overflow_policy::block;
  /// `cache_view::read_only` of the running cache.
  std::string read_only;
  caf::timespan block_timeout{0};
  caf::timespan call_timeout{0};

  /// `HOST:PORT` of the cache node the buffers stream to; empty if local.
  std::string peer;
};

/// Keeps every view a call reads through it from being freed while the pin
/// lives (an epoch scheme: `store` frees a replaced view only after seeing
/// every stripe of `readers` at zero). Costs one uncontended atomic
/// increment and decrement on the calling thread's stripe. Only for code that
/// never blocks: a call that may wait (a remote request, `flush`) uses
/// `instance_state::load` instead.
class view_pin {
public:
  explicit view_pin(instance_state& st) noexcept
    : st_(st),
      stripe_(st.readers[routing::thread_index()
                         % instance_state::reader_stripes]
                .n) {
    // Sequentially consistent with the store of `current` and the reads of
    // the stripes in `store`: a pin that `store` did not see reads the new
    // view.
    stripe_.fetch_add(1);
  }

  view_pin(const view_pin&) = delete;
  view_pin& operator=(const view_pin&) = delete;

  ~view_pin() {
    stripe_.fetch_sub(1, std::memory_order_release);
  }

  /// Returns the running cache, or null; valid while this pin lives.
  const cache_view* load() const noexcept {
    return st_.current.load();
  }

private:
  instance_state& st_;
  std::atomic<uint64_t>& stripe_;
};

} // namespace supercache::detail

namespace supercache::detail {

// -- shared by the instance's files (lifecycle.cpp, remote.cpp, ...) ----------

/// Registers `hdl` as `name`; `already_started` if the name is taken.
caf::error register_as(caf::actor_system& sys, caf::atom_value name,
                       const caf::actor& hdl);

/// Starts `n` buffers on the running cache. Callers hold `st.lifecycle`.
caf::error start_buffers(const std::shared_ptr<instance_state>& st, size_t n);

/// Replaces buffer `index` after `dead` died (the supervisor's hook): the
/// replacement, an invalid handle if there is nothing to replace, or
/// `std::nullopt` while a start or stop holds `st.lifecycle`.
std::optional<caf::actor> restart_buffer(instance_state& st, uint32_t index,
                                         const caf::actor_addr& dead);

/// Replaces `name` in the registry with `hdl`.
void reregister(caf::actor_system& sys, caf::atom_value name,
                const caf::actor& hdl);

/// Drains and stops the buffers. Callers hold `st.lifecycle`.
caf::error stop_buffers(instance_state& st);

/// Spawns the instance's front and registers it. Callers hold the lock.
caf::error start_front(const std::shared_ptr<instance_state>& st);

/// Turns the failure of a request with `timeout` to the cache node at
/// `peer` into `errc::unreachable` naming the node; our own errors pass.
caf::error remote_error(const std::string& peer, caf::timespan timeout,
                        const caf::error& err);

/// Turns the failure of a request to the cache node of `cache` into
/// `errc::unreachable` naming the node.
caf::error remote_error(const cache_view& cache, const caf::error& err);

/// Turns the failure of a request to node `node` (an index into
/// `cache.nodes`) into `errc::unreachable` naming that node.
caf::error remote_error(const cache_view& cache, size_t node,
                        const caf::error& err);

/// Asks the cache node of `cache` for its number of records.
caf::expected<size_t> remote_size(instance_state& st, const cache_view& cache);

/// Returns the metrics of a local cache (see `instance::stats`).
caf::expected<record> local_stats(instance_state& st);

/// The one ingress path of `lazy_put` and `lazy_erase`: validates `x`,
/// admits it to the buffer of the calling worker (or thread) and queues it
/// as a record, or as a lazy erase of its key if `erase`.
caf::error offer(instance_state& st, const record& x, bool erase);

/// Returns the layout settings a front reports to producers.
record settings_of(const options& opts);

/// Returns the actor published at `ep`, over TLS if `tls`, waiting at most
/// `timeout`; `errc::unreachable` naming `peer` otherwise (connection.cpp,
/// which says what is left when the deadline passes).
caf::expected<caf::actor> remote_front(caf::actor_system& sys, bool tls,
                                       const endpoint& ep,
                                       caf::timespan timeout,
                                       const std::string& peer);

/// What a cache node's front answered at connect.
struct node_reply {
  caf::actor front;
  std::vector<caf::actor> partitions;
  record settings;
  /// Why the node did not answer (`errc::unreachable`); then the rest is
  /// empty.
  caf::error down;
};

/// Connects to the cache node at `ep` (named `peer` in errors) and checks
/// its partitions and settings against `opts` (remote.cpp): a node that
/// does not answer gives a reply with `down` set, one that answers wrongly
/// an error.
caf::expected<node_reply> ask_node_at(caf::actor_system& sys, bool tls,
                                      const options& opts, const endpoint& ep,
                                      const std::string& peer);

/// Builds the cluster of `view` (its `opts` and `nodes` set) from the
/// nodes' `replies`, in list order: checks that they agree, places the
/// partitions (core/cluster_map.hpp) on the nodes that answered, fails
/// with `unreachable` if a partition has no copy left, and tells every
/// node that answered its place (cluster.cpp).
caf::error assemble_cluster(caf::actor_system& sys, cache_view& view,
                            std::vector<node_reply>& replies);

/// Returns `stats()["cluster"]` of a producer connected to `cache`:
/// each node's state and each partition's copies (cluster.cpp).
record cluster_stats(instance_state& st, const cache_view& cache);

/// Notes that `lazy_put` into `st` accepted a record from the calling
/// thread: its next `put` or `put_batch` is ordered after it (sync.cpp).
void note_lazy_put(const instance_state& st) noexcept;

/// Orders the calling thread's direct write into the local cache of `st`
/// (`put`, `put_batch`, `erase`) after its earlier `lazy_put`s and
/// `lazy_erase`s (sync.cpp): may wait for `flush`, so call it without a
/// `view_pin`; inside an actor's handler, with records pending, it returns
/// `would_deadlock` naming `call`.
caf::error order_before_write(supercache::instance& self, instance_state& st,
                              const char* call);

} // namespace supercache::detail
