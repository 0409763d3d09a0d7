#pragma once

/// The state of one `supercache::instance`: what its calls, its supervisor
/// and its front share. Internal; not installed.
///
/// Two parts. The cache (`cache_view`) is an immutable snapshot swapped as
/// a whole (a partition restart publishes a new one), read lock-free with
/// `std::atomic_load`. The buffers are read by `lazy_put` on the hot path
/// behind `buffer_gate`: their fields are written only while the gate is
/// closed and drained.

#include <array>
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
#include "core/gate.hpp"
#include "core/names.hpp"
#include "core/table.hpp"

namespace supercache::detail {

/// An immutable snapshot of a running cache, shared with readers.
struct cache_view {
  options opts;
  record_layout layout;
  std::vector<caf::actor> partitions;
  /// Empty when the partitions are remote.
  std::vector<std::shared_ptr<table>> tables;
  /// The front of the cache node this instance connected to, or invalid.
  caf::actor remote;
  /// `HOST:PORT` of that node, for error messages.
  std::string peer;
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

  cache_ptr load() const {
    return std::atomic_load(&cache);
  }

  void store(cache_ptr x) {
    std::atomic_store(&cache, std::move(x));
  }

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
  caf::timespan block_timeout{0};
  caf::timespan call_timeout{0};

  /// `HOST:PORT` of the cache node the buffers stream to; empty if local.
  std::string peer;
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

/// Turns the failure of a request to the cache node of `cache` into
/// `errc::unreachable` naming the node.
caf::error remote_error(const cache_view& cache, const caf::error& err);

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

/// Notes that `lazy_put` into `st` accepted a record from the calling
/// thread: its next `put` or `put_batch` is ordered after it (sync.cpp).
void note_lazy_put(const instance_state& st) noexcept;

} // namespace supercache::detail
