/// The supercache benchmark: one run measures, side by side on the same
/// workload, what CAF messaging costs, what the storage costs, and what
/// `lazy_put`, `put` and `flush` achieve on top of them.
///
/// Workload: `--records` records `[i, "value-i"]` (default 2,000,000), built
/// inside the producer loops by `--producers` threads (default 2; producer p
/// of P writes keys p, p+P, ...), into a set table with one scheduler worker
/// per core and, unless `[supercache]` says otherwise, one buffer and one
/// partition per worker. Each measurement starts a fresh cache.
///
/// Phases (`--mode=all`, the default):
///  1. CAF limit: the producers `anon_send` each record to one counting actor
///     per producer thread; rate until both actors counted everything.
///  2. Store limit: the producers insert straight into `table`s, no actors.
///  3. lazy_put: enqueue rate (until every call returned) and end-to-end rate
///     (until `flush()` returned), plus the partitions' average batch size.
///  4. put: synchronous writes, `--put-records` (default records), then
///     put_batch (1000 a call), get (every key of a full cache; again into
///     a reused result), a 90/10
///     get/put mix, erase (every key of a full cache; exactly that many
///     removed, the cache empty) and lazy_erase (every key of a full cache,
///     until `flush` returned; `erases` and `erased` exact, the cache empty),
///     each on `--put-records` records.
///  5. Latency from `lazy_put` to visible in `get`, one pacing producer: at a
///     trickle (10,000 records/s) and at 10% of phase 3's end-to-end rate
///     with the producer sleeping until each record is due (at 10% it wakes
///     every ~60 us and puts the records due by then), and at 10% and 80%
///     with the producer spinning to keep pace (it holds a core): p50, p99,
///     p99.9, max. Beside it, 2b: the insert batches (256 records) in which
///     one table doubled, timed by one thread inserting straight into it.
///  6. Memory: this program runs itself again with `--mode=lazy` (phase 3 and
///     the memory figures only, in a fresh process) and reports that child's
///     peak RSS, bytes per stored and per pending record: the peak RSS of the
///     full run would include the earlier phases. Bytes per stored record =
///     (RSS after flush - RSS before start) / records stored; bytes per pending
///     record = (RSS - RSS before - stored x bytes per stored) / pending, at
///     the 5 ms sample (taken while producers run) with the most records
///     accepted by `lazy_put` but not yet counted by `size()`. Freed heap is
///     returned to the system (glibc `malloc_trim`) before the RSS readings
///     before start and after flush.
///  7. Scaling: end-to-end rate for producers 1, 2, 4 x buffers = partitions
///     1, 2, 4, `--scale-records` each (default records / 2).
///  8. Expiry and size bound: phase 3 with `ttl` = 1 h (nothing expires: the
///     cost of the write order) and with `max-records` at half the records
///     per partition (half evicted), and phase 6's bytes per stored record of
///     each from a fresh child (phase_limits.cpp).
///
/// Output: a readable table, then one line of JSON with every figure (rates
/// in records/s, ratios to the CAF limit, the workload). Exit status 0 only if
/// every count was exact; times are never checked.
///
///   ./build/bench/supercache-bench                  # from the repo root
///   ./build/bench/supercache-bench --records=500000 --producers=4
///   ./build/bench/supercache-bench --mode=lazy      # peak RSS alone
///   ./build/bench/supercache-bench --mode=remote    # remote vs local
///
/// `--mode=latency`: phase 3, then phase 5 (its levels need phase 3's rate).
///
/// `--mode=sync`: phase 4 alone (put, put_batch, get, the mix, erase,
/// lazy_erase).
///
/// `--mode=remote`: phase 3 twice on the same workload, first into a local
/// cache, then through `connect` into a cache node (`supercache-node
/// --supercache.role="cache"`, started by this program on a free loopback
/// port and stopped at the end); prints both end-to-end rates and their
/// ratio. Both processes share the machine's cores.
///   ./build/bench/supercache-bench --long-help      # every flag
///
/// Files: main.cpp (flags, modes, the run), workload.hpp (what every part
/// shares), phases.hpp (one `phase_*.cpp` per phase and for `--mode=remote`),
/// report.cpp (the tables).

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <string>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>

#include <supercache/supercache.hpp>

#include "bench/phases.hpp"

namespace supercache::bench {

namespace {

// -- configuration ------------------------------------------------------------

/// Declares the bench flags next to CAF's and supercache's options.
class bench_config : public caf::actor_system_config {
public:
  bench_config() {
    supercache::configure(*this);
    opt_group{custom_options_, "global"}
      .add<std::string>("mode",
                        "\"all\" (default), \"lazy\": only lazy_put and "
                        "memory (peak RSS) in this process, \"sync\": put, "
                        "put_batch, get, a get/put mix, erase and "
                        "lazy_erase, \"latency\": lazy_put then the latency "
                        "levels, or \"remote\": lazy_put into a local cache "
                        "and into a cache node")
      .add<size_t>("records", "records per phase (default 2000000)")
      .add<size_t>("producers", "producer threads (default 2)")
      .add<size_t>("put-records",
                   "records of the put, put_batch, get, mix, erase and "
                   "lazy_erase phases (default records)")
      .add<size_t>("latency-records",
                   "records per latency level, at most (default 200000)")
      .add<size_t>("latency-ms",
                   "milliseconds per latency level, at most (default 2000)")
      .add<size_t>("scale-records",
                   "records per scaling cell (default records / 2)");
  }
};

/// Reads the bench flags of `cfg`; returns an error message if one is out of
/// range, else an empty string.
std::string read_workload(const caf::actor_system_config& cfg, workload& w) {
  w.mode = caf::get_or(cfg, "mode", std::string{"all"});
  w.records = caf::get_or(cfg, "records", size_t{2'000'000});
  w.producers = caf::get_or(cfg, "producers", size_t{2});
  w.put_records = caf::get_or(cfg, "put-records", w.records);
  w.latency_records = caf::get_or(cfg, "latency-records", size_t{200'000});
  w.latency_ms = caf::get_or(cfg, "latency-ms", size_t{2000});
  w.scale_records = caf::get_or(cfg, "scale-records", w.records / 2);
  if (w.mode != "all" && w.mode != "lazy" && w.mode != "remote"
      && w.mode != "sync" && w.mode != "latency")
    return "--mode=" + w.mode
           + ": expected \"all\", \"lazy\", \"sync\", \"latency\" or "
             "\"remote\"";
  if (w.records == 0 || w.producers == 0 || w.producers > 256)
    return "--records must be positive and --producers 1..256";
  if (w.latency_records == 0 || w.latency_ms == 0)
    return "--latency-records and --latency-ms must be positive";
  if (w.put_records == 0 || w.scale_records == 0)
    return "--put-records and --scale-records must be positive";
  return {};
}

// -- the run ------------------------------------------------------------------

/// Returns the workload and stream settings as JSON.
json describe(const bench_config& cfg, const workload& w) {
  auto stream = [&](const char* key, caf::timespan fallback) {
    return micros(caf::get_or(cfg, key, fallback));
  };
  return {
    {"mode", w.mode},
    {"records", w.records},
    {"producers", w.producers},
    {"workers", w.workers},
    {"buffers", w.opts.buffers},
    {"partitions", w.opts.partitions},
    {"table", supercache::to_string(w.opts.type)},
    {"put_records", w.put_records},
    {"latency_records", w.latency_records},
    {"latency_ms", w.latency_ms},
    {"scale_records", w.scale_records},
    {"allocator", supercache::allocator()},
    {"config_file", cfg.config_file_path},
    {"config_file_found", std::filesystem::exists(cfg.config_file_path)},
    {"stream",
     {{"max_batch_delay_us",
       stream("stream.max-batch-delay", cfg.stream_max_batch_delay)},
      {"credit_round_interval_us",
       stream("stream.credit-round-interval",
              cfg.stream_credit_round_interval)},
      {"desired_batch_complexity_us",
       stream("stream.desired-batch-complexity",
              cfg.stream_desired_batch_complexity)}}},
  };
}

/// `--mode=lazy`: phase 3 with memory figures, alone in this process.
void run_lazy_mode(caf::actor_system& sys, const workload& w, report& r) {
  auto& out = r.out;
  // As supercache-node runs a bounded cache (a child of its own, so the
  // other phases keep the allocator's default).
  auto returned = w.opts.max_records > 0 && return_freed_pages();
  out["lazy_put"] = run_lazy(sys, w,
                             {w.records, w.producers, w.opts.buffers,
                              w.opts.partitions, true},
                             r);
  if (out["lazy_put"].is_object()) {
    out["memory"] = out["lazy_put"]["memory"];
    out["memory"]["source"] = "this process, --mode=lazy";
    out["memory"]["freed_pages_returned"] = returned;
    out["lazy_put"].erase("memory");
  }
  print_rates(out);
  print_memory(out.value("memory", json{}));
}

/// Phase 4: put, put_batch, get, the get/put mix, erase and lazy_erase into
/// `out`.
void run_sync_phases(caf::actor_system& sys, const workload& w, report& r) {
  auto& out = r.out;
  out["put"] = run_put(sys, w, r);
  out["put_batch"] = run_put_batch(sys, w, r);
  out["get"] = run_get(sys, w, r);
  out["get_reuse"] = run_get_reuse(sys, w, r);
  out["get_put_mix"] = run_mix(sys, w, r);
  out["erase"] = run_erase(sys, w, r);
  out["lazy_erase"] = run_lazy_erase(sys, w, r);
}

/// Phase 5: the latency levels into `out`: a trickle and 10% of `e2e` with a
/// producer that sleeps until each record is due, 10% from an actor, 10% and
/// 80% with a producer that spins.
void run_latency_levels(caf::actor_system& sys, const workload& w, double e2e,
                        report& r) {
  auto& out = r.out;
  out["growth"] = run_growth(w, r);
  out["latency"] = json::array();
  if (e2e > 0) {
    out["latency"].push_back(
      run_latency(sys, w, trickle_rate / e2e, trickle_rate, pacing::sleep, r));
    for (auto how : {pacing::sleep, pacing::actor})
      out["latency"].push_back(run_latency(sys, w, 0.1, 0.1 * e2e, how, r));
  }
  for (auto load : {0.1, 0.8})
    out["latency"].push_back(
      run_latency(sys, w, load, load * e2e, pacing::spin, r));
  print_latency(out["latency"]);
  print_growth(out["growth"]);
}

/// `--mode=latency`: phase 3 for the end-to-end rate, then phase 5.
void run_latency_mode(caf::actor_system& sys, const workload& w, report& r) {
  auto& out = r.out;
  out["lazy_put"] = run_lazy(sys, w,
                             {w.records, w.producers, w.opts.buffers,
                              w.opts.partitions, false},
                             r);
  print_rates(out);
  auto e2e = out["lazy_put"].is_object()
               ? out["lazy_put"]["end_to_end_rate"].get<double>()
               : 0.0;
  run_latency_levels(sys, w, e2e, r);
}

/// `--mode=all`: every phase; memory from a child in `--mode=lazy`.
void run_all_mode(caf::actor_system& sys, const workload& w, int argc,
                  char** argv, report& r) {
  auto& out = r.out;
  out["caf_limit"] = run_caf_limit(sys, w, r);
  out["store_limit"] = run_store_limit(w, r);
  out["lazy_put"] = run_lazy(sys, w,
                             {w.records, w.producers, w.opts.buffers,
                              w.opts.partitions, false},
                             r);
  run_sync_phases(sys, w, r);
  auto caf_rate = out["caf_limit"]["rate"].get<double>();
  for (auto key : {"store_limit", "put", "put_batch", "get", "get_reuse",
                   "get_put_mix",
                   "erase", "lazy_erase"})
    if (out[key].is_object())
      out[key]["caf_ratio"] = ratio(out[key]["rate"].get<double>(), caf_rate);
  auto e2e = 0.0;
  if (out["lazy_put"].is_object()) {
    auto& lazy = out["lazy_put"];
    e2e = lazy["end_to_end_rate"].get<double>();
    lazy["enqueue_caf_ratio"] = ratio(lazy["enqueue_rate"].get<double>(),
                                      caf_rate);
    lazy["caf_ratio"] = ratio(e2e, caf_rate);
    out["caf_limit_ratio"] = ratio(e2e, caf_rate);
  }
  print_rates(out);
  run_latency_levels(sys, w, e2e, r);
  std::fflush(stdout);
  auto child = run_child(argc, argv);
  if (child.is_object() && child.contains("memory")) {
    out["memory"] = child["memory"];
    out["memory"]["source"] = "fresh process, --mode=lazy, "
                              + std::to_string(w.records) + " records";
    out["memory"]["child_end_to_end_rate"]
      = child["lazy_put"].value("end_to_end_rate", 0);
  }
  r.check(child.is_object() && child.contains("memory")
            && !child.value("child_failed", false)
            && child.value("counts_exact", false),
          "memory child (--mode=lazy): "
            + (child.is_string() ? child.get<std::string>()
                                 : std::string{"counts not exact"}));
  print_memory(out.value("memory", json{}));
  out["limits"] = run_limits(sys, w, argc, argv, r);
  print_limits(out["limits"], e2e,
               out.value("memory", json::object())
                 .value("bytes_per_stored_record", 0.0));
  out["scaling"] = run_scaling(sys, w, r);
  for (auto& cell : out["scaling"])
    cell["caf_ratio"] = ratio(cell["end_to_end_rate"].get<double>(),
                              caf_rate);
  print_scaling(out["scaling"], caf_rate);
}

/// Parses the flags, runs the phases of `--mode`, prints; returns the exit
/// status.
int run(int argc, char** argv) {
  auto run_start = clock_type::now();
  bench_config cfg;
  if (auto err = cfg.parse(argc, argv, "caf-application.conf")) {
    std::fprintf(stderr, "error: %s\n", cfg.render(err).c_str());
    return EXIT_FAILURE;
  }
  if (cfg.cli_helptext_printed)
    return EXIT_SUCCESS;
  if (caf::get_if(&cfg.content, "scheduler.max-threads") == nullptr) {
    auto cores = std::max(1u, std::thread::hardware_concurrency());
    cfg.set("scheduler.max-threads", caf::config_value::integer{cores});
  }
  workload w;
  if (auto what = read_workload(cfg, w); !what.empty()) {
    std::fprintf(stderr, "error: %s\n", what.c_str());
    return EXIT_FAILURE;
  }
  if (w.mode == "remote")
    cfg.load<caf::io::middleman>();
  caf::actor_system sys{cfg};
  auto opts = supercache::options::from(sys.config());
  if (!opts) {
    std::fprintf(stderr, "error: %s\n",
                 supercache::render(opts.error()).c_str());
    return EXIT_FAILURE;
  }
  w.workers = sys.scheduler().num_workers();
  w.opts = *opts;
  if (w.opts.buffers == 0)
    w.opts.buffers = w.workers;
  if (w.opts.partitions == 0)
    w.opts.partitions = w.workers;
  report r;
  r.out["bench"] = "supercache";
  r.out["workload"] = describe(cfg, w);
  print_workload(r.out["workload"]);
  if (w.mode == "lazy")
    run_lazy_mode(sys, w, r);
  else if (w.mode == "remote")
    run_remote_mode(sys, w, argc, argv, r);
  else if (w.mode == "latency")
    run_latency_mode(sys, w, r);
  else if (w.mode == "sync") {
    run_sync_phases(sys, w, r);
    print_rates(r.out);
  }
  else
    run_all_mode(sys, w, argc, argv, r);
  r.out["peak_rss_kb"] = peak_rss_kb();
  r.out["seconds"] = rounded(seconds(run_start, clock_type::now()), 2);
  r.out["counts_exact"] = r.failures.empty();
  r.out["failures"] = r.failures;
  std::printf("counts: %s; run took %.1f s\n",
              r.failures.empty() ? "all exact" : "NOT EXACT (see stderr)",
              r.out["seconds"].get<double>());
  std::printf("%s\n", r.out.dump().c_str());
  return r.failures.empty() ? EXIT_SUCCESS : EXIT_FAILURE;
}

} // namespace

} // namespace supercache::bench

int main(int argc, char** argv) {
  try {
    return supercache::bench::run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
  } catch (...) {
    std::fprintf(stderr, "error: unknown exception\n");
  }
  return EXIT_FAILURE;
}
