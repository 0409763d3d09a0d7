#pragma once

/// The phases of the benchmark, one file each (phase_*.cpp), and
/// `--mode=remote`: what main.cpp runs. Each phase records every count that
/// was not exact in the `report`.

#include <atomic>
#include <cstddef>
#include <string>
#include <vector>

#include <sys/types.h>

#include <caf/actor_system.hpp>

#include "bench/workload.hpp"

namespace supercache::bench {

// -- 1. CAF limit (phase_caf_limit.cpp) ---------------------------------------

/// Phase 1: one `anon_send` per record to one counting actor per producer.
json run_caf_limit(caf::actor_system& sys, const workload& w, report& r);

// -- 2. store limit (phase_store_limit.cpp) -----------------------------------

/// Phase 2: the producers insert straight into the partitions' tables.
json run_store_limit(const workload& w, report& r);

/// Phase 2b: one thread inserts `w.latency_records` records into one
/// table in batches of 256 (as a partition applies a stream's batches) and
/// times each batch: the longest, the 99th percentile and how many took
/// over 250 us (the growth of the table's shards stalls a partition).
json run_growth(const workload& w, report& r);

// -- 3. lazy_put and 7. scaling (phase_lazy_put.cpp) --------------------------

/// Parameters of one lazy_put measurement.
struct lazy_params {
  size_t records;
  size_t producers;
  size_t buffers;
  size_t partitions;
  /// Whether to take the memory figures (RSS before, at the producers' end,
  /// after flush).
  bool memory;
  /// `HOST:PORT` of a cache node to `connect` to instead of starting a
  /// local cache; empty for local.
  std::string remote = {};
  /// Copies of each partition when `remote` lists a cluster.
  size_t replicas = 1;
};

/// Phase 3 on a fresh cache: producers call `lazy_put`, then `flush`. With
/// `lp.memory`, a sampler thread watches RSS and progress meanwhile.
json run_lazy(caf::actor_system& sys, const workload& w, const lazy_params& lp,
              report& r);

/// Producer counts and buffer (= partition) counts of the scaling table.
inline constexpr size_t scale_steps[] = {1, 2, 4};

/// Phase 7: end-to-end lazy_put rate for every producers x buffers cell.
json run_scaling(caf::actor_system& sys, const workload& w, report& r);

// -- 4. put (phase_put.cpp) ---------------------------------------------------

/// Phase 4 on a fresh cache: producers call the synchronous `put`.
json run_put(caf::actor_system& sys, const workload& w, report& r);

// -- 4b-4f. put_batch, get, mix, erase, lazy_erase (phase_sync.cpp) -----------

/// `put_batch` of 1000 records a call, `--put-records` records in all.
json run_put_batch(caf::actor_system& sys, const workload& w, report& r);

/// `get` of every key of a cache holding `--put-records` records.
json run_get(caf::actor_system& sys, const workload& w, report& r);

/// Phase 4c': `get(pattern, out)` of every key of a full cache, each thread
/// keeping one pattern and one result (no allocation per lookup).
json run_get_reuse(caf::actor_system& sys, const workload& w, report& r);

/// 9 `get`s to 1 `put` (keys ending in 9) over a full cache.
json run_mix(caf::actor_system& sys, const workload& w, report& r);

/// `erase` of every key of a cache holding `--put-records` records; checks
/// that the calls removed exactly that many and left the cache empty.
json run_erase(caf::actor_system& sys, const workload& w, report& r);

/// `lazy_erase` of every key of a cache holding `--put-records` records,
/// then `flush` (rate until `flush` returned; `enqueue_rate` until every
/// call returned); checks `erases`, `erased` and an empty cache.
json run_lazy_erase(caf::actor_system& sys, const workload& w, report& r);

// -- 5. latency (phase_latency.cpp) -------------------------------------------

/// How the producer of a latency level waits for its next record.
enum class pacing {
  /// A thread that sleeps until each record is due and leaves the cores to
  /// the cache (above ~20k records/s it wakes later than the next record is
  /// due and puts every record due by then, at its own enqueue time).
  sleep,
  /// A thread that spins close to each due time and holds a core.
  spin,
  /// An actor on the cache's scheduler, as a user's actor calls `lazy_put`
  /// from its handlers: each turn puts the records due by then and asks
  /// CAF's clock for the next turn ~50 us later.
  actor,
};

/// Returns "sleep", "spin" or "actor".
std::string pacing_name(pacing p);

/// Phase 5 at one load: a producer paced `how` puts records at `target`
/// records/s; the cache partitions time 1 in 16 records from `lazy_put`
/// until visible to `get` (the `latency_us` histogram of
/// `supercache::stats()`), so no observer thread competes for the cores.
json run_latency(caf::actor_system& sys, const workload& w, double load,
                 double target, pacing how, report& r);

/// The trickle of phase 5: records/s, the producer sleeping between them.
constexpr double trickle_rate = 10'000;

// -- 6. memory (phase_memory.cpp) ---------------------------------------------

/// Returns the resident set size of this process in kB (/proc/self/statm).
size_t current_rss_kb();

/// Returns the peak resident set size of this process in kB.
size_t peak_rss_kb();

/// Returns freed heap memory to the system (glibc keeps it otherwise), so
/// that the RSS shows live data.
void release_free_memory();

/// One reading of memory and progress while producers run.
struct memory_sample {
  size_t rss_kb = 0;
  size_t enqueued = 0;
  size_t stored = 0;

  /// Returns the records accepted but not yet stored.
  size_t pending() const noexcept {
    return enqueued > stored ? enqueued - stored : 0;
  }
};

/// Reads RSS, records enqueued (`progress`) and stored every 5 ms until
/// `stop` is set; returns the reading with the most records pending.
memory_sample sample_memory(const std::vector<std::atomic<size_t>>& progress,
                            const std::atomic<bool>& stop);

/// Returns the memory figures of a lazy_put phase of `records` that left
/// `stored` records: RSS `before_kb` the cache started, `done_kb` when the
/// producers returned (with `stored_at_done` records stored) and `after_kb`
/// after flush, plus `most`, the reading with the most records pending.
json memory_figures(size_t records, size_t stored, size_t before_kb,
                    size_t done_kb, size_t after_kb, size_t stored_at_done,
                    const memory_sample& most);

/// Starts `path` with `args` (`args[0]` included) and its stdout on a pipe;
/// returns the pipe's read end, or -1 with a reason in `error`.
int spawn_piped(const char* path, std::vector<std::string> args, pid_t& pid,
                std::string& error);

/// Runs this program again with `--mode=lazy`, the other flags of `argv`
/// and `extra`; returns its JSON line, or a string describing what went
/// wrong.
json run_child(int argc, char** argv,
               const std::vector<std::string>& extra = {});

// -- 8. expiry and size bound (phase_limits.cpp) ------------------------------

/// Phase 8: lazy_put end-to-end rate with `ttl` set (1 h: nothing expires,
/// the cost of the write order) and with `max-records` at half the records
/// per partition (half of them evicted), each in this process, and the
/// bytes per stored record of each from a fresh `--mode=lazy` child.
json run_limits(caf::actor_system& sys, const workload& w, int argc,
                char** argv, report& r);

/// Prints phase 8 beside the unlimited end-to-end rate `base_rate` and
/// `base_bytes` per stored record.
void print_limits(const json& limits, double base_rate, double base_bytes);

// -- --mode=remote (phase_remote.cpp) -----------------------------------------

/// `--mode=remote`: phase 3 into a local cache, then into a cache node, then
/// into a cluster of three cache nodes with replicas = 1 and = 2.
void run_remote_mode(caf::actor_system& sys, const workload& w, int argc,
                     char** argv, report& r);

} // namespace supercache::bench
