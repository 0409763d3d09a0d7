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
///  4. put: synchronous writes, `--put-records` (default min(records, 200k)).
///  5. Latency from `lazy_put` to visible in `get`, one pacing producer at 10%
///     and 80% of phase 3's end-to-end rate: p50, p99, p99.9, max.
///  6. Memory: this program runs itself again with `--mode=lazy` (phase 3 and
///     the memory figures only, in a fresh process) and reports that child's
///     peak RSS, bytes per stored and per pending record: the peak RSS of the
///     full run would include the earlier phases. Bytes per stored record =
///     (RSS after flush - RSS before start) / records; bytes per pending
///     record = (RSS - RSS before - stored x bytes per stored) / pending, at
///     the 5 ms sample (taken while producers run) with the most records
///     accepted by `lazy_put` but not yet counted by `size()`. Freed heap is
///     returned to the system (glibc `malloc_trim`) before the RSS readings
///     before start and after flush.
///  7. Scaling: end-to-end rate for producers 1, 2, 4 x buffers = partitions
///     1, 2, 4, `--scale-records` each (default records / 2).
///
/// Output: a readable table, then one line of JSON with every figure (rates
/// in records/s, ratios to the CAF limit, the workload). Exit status 0 only if
/// every count was exact; times are never checked.
///
///   ./build-bench/bench/supercache-bench                  # from the repo root
///   ./build-bench/bench/supercache-bench --records=500000 --producers=4
///   ./build-bench/bench/supercache-bench --mode=lazy      # peak RSS alone
///   ./build-bench/bench/supercache-bench --mode=remote    # remote vs local
///
/// `--mode=remote`: phase 3 twice on the same workload, first into a local
/// cache, then through `connect` into a cache node (`supercache-node
/// --supercache.role="cache"`, started by this program on a free loopback
/// port and stopped at the end); prints both end-to-end rates and their
/// ratio. Both processes share the machine's cores.
///   ./build-bench/bench/supercache-bench --long-help      # every flag

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __GLIBC__
#  include <malloc.h>
#endif

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/io/middleman.hpp>
#include <caf/response_promise.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>

#include "core/table.hpp"
#include <supercache/supercache.hpp>

extern char** environ;

namespace {

using supercache::record;
using json = nlohmann::json;
using clock_type = std::chrono::steady_clock;
using time_point = clock_type::time_point;

// -- helpers ------------------------------------------------------------------

/// Builds record `i` of the workload: `[i, "value-i"]`.
record make_record(size_t i) {
  return record::array({i, "value-" + std::to_string(i)});
}

/// Returns the number of keys producer `p` of `producers` writes out of
/// `records` (keys p, p + producers, ...).
size_t share_of(size_t p, size_t producers, size_t records) {
  return p < records ? (records - p + producers - 1) / producers : 0;
}

/// Returns `x` in nanoseconds since the steady clock's epoch.
int64_t to_ns(time_point x) {
  using std::chrono::duration_cast;
  using std::chrono::nanoseconds;
  return duration_cast<nanoseconds>(x.time_since_epoch()).count();
}

/// Returns the seconds from `from` to `to`.
double seconds(time_point from, time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

/// Returns the value of `x`, or `fallback` if it holds an error.
template <class T>
T value_or(caf::expected<T> x, T fallback) {
  return x ? std::move(*x) : std::move(fallback);
}

/// Returns `x` rounded to `digits` decimals, for compact JSON.
double rounded(double x, int digits) {
  auto scale = std::pow(10.0, digits);
  return std::round(x * scale) / scale;
}

/// Returns `n / secs`, or 0 for an empty interval.
double rate_of(size_t n, double secs) {
  return secs > 0 ? static_cast<double>(n) / secs : 0.0;
}

/// Returns `x / y` rounded to 3 decimals, or 0 if `y` is 0.
double ratio(double x, double y) {
  return y > 0 ? rounded(x / y, 3) : 0.0;
}

/// Formats a rate as e.g. `1.23M/s`.
std::string show_rate(double x) {
  char buf[32];
  if (x >= 1e6)
    std::snprintf(buf, sizeof(buf), "%.2fM/s", x / 1e6);
  else
    std::snprintf(buf, sizeof(buf), "%.1fk/s", x / 1e3);
  return buf;
}

/// Formats `x` with a printf `format` such as `%.2f`.
std::string show(const char* format, double x) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), format, x);
  return buf;
}

/// Returns a timespan in microseconds.
double micros(caf::timespan x) {
  return std::chrono::duration<double, std::micro>(x).count();
}

// -- memory -------------------------------------------------------------------

/// Returns the resident set size of this process in kB (/proc/self/statm).
size_t current_rss_kb() {
  std::ifstream in{"/proc/self/statm"};
  size_t pages = 0;
  size_t resident = 0;
  in >> pages >> resident;
  return resident * static_cast<size_t>(sysconf(_SC_PAGESIZE)) / 1024;
}

/// Returns the peak resident set size of this process in kB.
size_t peak_rss_kb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<size_t>(usage.ru_maxrss);
}

/// Returns freed heap memory to the system (glibc keeps it otherwise), so
/// that the RSS shows live data.
void release_free_memory() {
#ifdef __GLIBC__
  malloc_trim(0);
#endif
}

// -- configuration ------------------------------------------------------------

/// Declares the bench flags next to CAF's and supercache's options.
class bench_config : public caf::actor_system_config {
public:
  bench_config() {
    supercache::configure(*this);
    opt_group{custom_options_, "global"}
      .add<std::string>("mode",
                        "\"all\" (default), \"lazy\": only lazy_put and "
                        "memory (peak RSS) in this process, or \"remote\": "
                        "lazy_put into a local cache and into a cache node")
      .add<size_t>("records", "records per phase (default 2000000)")
      .add<size_t>("producers", "producer threads (default 2)")
      .add<size_t>("put-records",
                   "records of the put phase (default min(records, 20000))")
      .add<size_t>("latency-records",
                   "records per latency level, at most (default 200000)")
      .add<size_t>("latency-ms",
                   "milliseconds per latency level, at most (default 2000)")
      .add<size_t>("scale-records",
                   "records per scaling cell (default records / 2)");
  }
};

/// The workload of a run, read from the flags and the config file.
struct workload {
  /// `all` or `lazy`.
  std::string mode;
  /// Records of phases 1, 2, 3 and 6.
  size_t records = 0;
  /// Producer threads of phases 1 to 4 and 6.
  size_t producers = 0;
  /// Records of phase 4.
  size_t put_records = 0;
  /// Records per latency level, at most.
  size_t latency_records = 0;
  /// Milliseconds per latency level, at most.
  size_t latency_ms = 0;
  /// Records per scaling cell.
  size_t scale_records = 0;
  /// Scheduler workers of the actor system.
  size_t workers = 0;
  /// The `[supercache]` options, `buffers` and `partitions` resolved.
  supercache::options opts;
};

/// Reads the bench flags of `cfg`; returns an error message if one is out of
/// range, else an empty string.
std::string read_workload(const caf::actor_system_config& cfg, workload& w) {
  w.mode = caf::get_or(cfg, "mode", std::string{"all"});
  w.records = caf::get_or(cfg, "records", size_t{2'000'000});
  w.producers = caf::get_or(cfg, "producers", size_t{2});
  w.put_records = caf::get_or(cfg, "put-records",
                              std::min(w.records, size_t{20'000}));
  w.latency_records = caf::get_or(cfg, "latency-records", size_t{200'000});
  w.latency_ms = caf::get_or(cfg, "latency-ms", size_t{2000});
  w.scale_records = caf::get_or(cfg, "scale-records", w.records / 2);
  if (w.mode != "all" && w.mode != "lazy" && w.mode != "remote")
    return "--mode=" + w.mode + ": expected \"all\", \"lazy\" or \"remote\"";
  if (w.records == 0 || w.producers == 0 || w.producers > 256)
    return "--records must be positive and --producers 1..256";
  if (w.latency_records == 0 || w.latency_ms == 0)
    return "--latency-records and --latency-ms must be positive";
  if (w.put_records == 0 || w.scale_records == 0)
    return "--put-records and --scale-records must be positive";
  return {};
}

// -- the report ---------------------------------------------------------------

/// Figures of the run and every count that was not exact.
struct report {
  json out = json::object();
  std::vector<std::string> failures;

  /// Records a failure `what` unless `ok`.
  void check(bool ok, const std::string& what) {
    if (!ok) {
      std::fprintf(stderr, "COUNT MISMATCH: %s\n", what.c_str());
      failures.push_back(what);
    }
  }
};

/// Stops the running cache on scope exit, so that an early return leaves no
/// registered actor behind (it would make `~actor_system` wait forever).
struct stop_guard {
  ~stop_guard() {
    static_cast<void>(supercache::stop());
  }
};

/// Starts a cache with `buffers` buffers and `partitions` partitions; records
/// a failure and returns false if it does not start.
bool start_cache(caf::actor_system& sys, const workload& w, size_t buffers,
                 size_t partitions, report& r) {
  auto opts = w.opts;
  opts.buffers = buffers;
  opts.partitions = partitions;
  if (auto err = supercache::start(sys, opts)) {
    r.check(false, "supercache::start: " + supercache::render(err));
    return false;
  }
  return true;
}

// -- producers ----------------------------------------------------------------

/// When a group of producer threads started and when the last one returned.
struct span {
  time_point start;
  time_point end;
};

/// Runs `body(p)` for p = 0..n-1 on `n` new threads released together;
/// returns once every body returned.
template <class F>
span run_producers(size_t n, F body) {
  std::atomic<size_t> ready{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  threads.reserve(n);
  for (size_t p = 0; p < n; ++p)
    threads.emplace_back([&, p] {
      ready.fetch_add(1);
      while (!go.load(std::memory_order_acquire))
        std::this_thread::yield();
      body(p);
    });
  while (ready.load() < n)
    std::this_thread::yield();
  span result;
  result.start = clock_type::now();
  go.store(true, std::memory_order_release);
  for (auto& t : threads)
    t.join();
  result.end = clock_type::now();
  return result;
}

/// Calls `f(i)` for every key `i` of producer `p` of `producers`.
template <class F>
void for_keys(size_t p, size_t producers, size_t records, F f) {
  for (size_t i = p; i < records; i += producers)
    f(i);
}

// -- 1. CAF limit -------------------------------------------------------------

/// Asks a counter to reply once it counted `n` records.
using wait_atom = caf::atom_constant<caf::atom("bench_wait")>;

/// State of a counting actor.
struct counter_state {
  uint64_t count = 0;
  uint64_t target = UINT64_MAX;
  caf::response_promise done;
  static inline const char* name = "bench.counter";
};

/// Replies to the waiter (`count`, steady-clock ns) and quits.
void finish(caf::stateful_actor<counter_state>* self) {
  auto& st = self->state;
  st.done.deliver(st.count, to_ns(clock_type::now()));
  self->quit();
}

/// Counts `record` messages; on `(wait_atom, n)` replies `(count, done_ns)`
/// once `n` records arrived, then quits.
caf::behavior counter(caf::stateful_actor<counter_state>* self) {
  return {
    [=](const record&) {
      if (++self->state.count == self->state.target)
        finish(self);
    },
    [=](wait_atom, uint64_t n) {
      auto& st = self->state;
      st.target = n;
      st.done = self->make_response_promise();
      if (st.count >= n)
        finish(self);
      return st.done;
    },
  };
}

/// Phase 1: one `anon_send` per record to one counting actor per producer.
json run_caf_limit(caf::actor_system& sys, const workload& w, report& r) {
  std::vector<caf::actor> counters;
  for (size_t p = 0; p < w.producers; ++p)
    counters.push_back(sys.spawn(counter));
  caf::scoped_actor self{sys};
  std::vector<caf::response_handle<caf::blocking_actor, caf::message, true>>
    waits;
  for (size_t p = 0; p < w.producers; ++p)
    waits.push_back(self->request(counters[p], std::chrono::minutes(5),
                                  wait_atom::value,
                                  uint64_t{share_of(p, w.producers,
                                                    w.records)}));
  auto s = run_producers(w.producers, [&](size_t p) {
    auto& hdl = counters[p];
    for_keys(p, w.producers, w.records,
             [&](size_t i) { caf::anon_send(hdl, make_record(i)); });
  });
  uint64_t counted = 0;
  auto end = s.end;
  for (auto& h : waits)
    h.receive(
      [&](uint64_t n, int64_t done_ns) {
        counted += n;
        end = std::max(end, time_point{std::chrono::nanoseconds{done_ns}});
      },
      [&](caf::error& err) {
        r.check(false, "counter: " + sys.render(err));
      });
  for (auto& hdl : counters)
    caf::anon_send_exit(hdl, caf::exit_reason::kill);
  r.check(counted == w.records, "CAF limit counted "
                                  + std::to_string(counted) + " of "
                                  + std::to_string(w.records));
  auto secs = seconds(s.start, end);
  return {{"records", w.records},
          {"seconds", rounded(secs, 4)},
          {"rate", std::llround(rate_of(w.records, secs))}};
}

// -- 2. store limit -----------------------------------------------------------

/// Phase 2: the producers insert straight into the partitions' tables.
json run_store_limit(const workload& w, report& r) {
  using supercache::table;
  auto layout = w.opts.layout();
  auto parts = w.opts.partitions;
  std::vector<std::shared_ptr<table>> tables;
  for (size_t i = 0; i < parts; ++i)
    tables.push_back(std::make_shared<table>(w.opts.type, layout));
  auto s = run_producers(w.producers, [&](size_t p) {
    for_keys(p, w.producers, w.records, [&](size_t i) {
      auto x = make_record(i);
      auto& tbl = *tables[supercache::partition_of(x, layout, parts)];
      tbl.insert(std::move(x));
    });
  });
  size_t stored = 0;
  for (auto& tbl : tables)
    stored += tbl->size();
  r.check(stored == w.records, "store limit stored " + std::to_string(stored)
                                 + " of " + std::to_string(w.records));
  auto secs = seconds(s.start, s.end);
  return {{"records", w.records},
          {"partitions", parts},
          {"seconds", rounded(secs, 4)},
          {"rate", std::llround(rate_of(w.records, secs))},
          {"size", stored}};
}

// -- 3. lazy_put (and 6. memory, 7. scaling) ----------------------------------

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
};

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
                            const std::atomic<bool>& stop) {
  using namespace std::chrono_literals;
  memory_sample most;
  while (!stop.load()) {
    std::this_thread::sleep_for(5ms);
    memory_sample now;
    for (auto& x : progress)
      now.enqueued += x.load(std::memory_order_relaxed);
    now.stored = value_or(supercache::size(), size_t{0});
    now.rss_kb = current_rss_kb();
    if (now.pending() > most.pending())
      most = now;
  }
  return most;
}

/// Returns the memory figures of a lazy_put phase: RSS `before_kb` the cache
/// started, `done_kb` when the producers returned (with `stored_at_done`
/// records stored) and `after_kb` after flush, plus `most`, the reading with
/// the most records pending.
json memory_figures(size_t records, size_t before_kb, size_t done_kb,
                    size_t after_kb, size_t stored_at_done,
                    const memory_sample& most) {
  auto per_stored = after_kb > before_kb
                      ? (after_kb - before_kb) * 1024.0 / records
                      : 0.0;
  json per_pending = nullptr;
  if (most.pending() > 0) {
    // What the pending records hold beyond the records stored by then.
    auto grown = (static_cast<double>(most.rss_kb) - before_kb) * 1024.0
                 - per_stored * static_cast<double>(most.stored);
    per_pending = rounded(std::max(grown, 0.0) / most.pending(), 1);
  }
  return {{"rss_before_kb", before_kb},
          {"rss_producers_done_kb", done_kb},
          {"rss_after_flush_kb", after_kb},
          {"peak_rss_kb", peak_rss_kb()},
          {"bytes_per_stored_record", rounded(per_stored, 1)},
          {"pending_at_producers_done",
           records - std::min(records, stored_at_done)},
          {"max_pending", most.pending()},
          {"stored_at_max_pending", most.stored},
          {"rss_at_max_pending_kb", most.rss_kb},
          {"bytes_per_pending_record", per_pending}};
}

/// Phase 3 on a fresh cache: producers call `lazy_put`, then `flush`. With
/// `lp.memory`, a sampler thread watches RSS and progress meanwhile.
json run_lazy(caf::actor_system& sys, const workload& w, const lazy_params& lp,
              report& r) {
  size_t before_kb = 0;
  if (lp.memory) {
    release_free_memory();
    before_kb = current_rss_kb();
  }
  if (lp.remote.empty()) {
    if (!start_cache(sys, w, lp.buffers, lp.partitions, r))
      return nullptr;
  } else {
    auto opts = w.opts;
    opts.buffers = lp.buffers;
    opts.remote = lp.remote;
    if (auto err = supercache::connect(sys, opts)) {
      r.check(false, "supercache::connect: " + supercache::render(err));
      return nullptr;
    }
  }
  stop_guard guard;
  std::vector<std::atomic<size_t>> progress(lp.producers);
  std::atomic<bool> producers_done{false};
  memory_sample most;
  std::thread sampler;
  if (lp.memory)
    sampler = std::thread{
      [&] { most = sample_memory(progress, producers_done); }};
  std::atomic<size_t> errors{0};
  auto s = run_producers(lp.producers, [&](size_t p) {
    size_t failed = 0;
    size_t sent = 0;
    for_keys(p, lp.producers, lp.records, [&](size_t i) {
      if (supercache::lazy_put(make_record(i)))
        ++failed;
      if (++sent % 1024 == 0)
        progress[p].store(sent, std::memory_order_relaxed);
    });
    progress[p].store(sent, std::memory_order_relaxed);
    errors += failed;
  });
  auto done_kb = lp.memory ? current_rss_kb() : 0;
  auto stored_at_done = value_or(supercache::size(), size_t{0});
  producers_done = true;
  auto flushed = supercache::flush();
  auto end = clock_type::now();
  if (sampler.joinable())
    sampler.join();
  r.check(!flushed, "flush: " + supercache::render(flushed));
  auto stored = value_or(supercache::size(), size_t{0});
  auto stats = value_or(supercache::stats(), json::object());
  auto label = "lazy_put " + std::to_string(lp.producers) + "p/"
               + std::to_string(lp.buffers) + "b/"
               + std::to_string(lp.partitions) + "part";
  r.check(errors == 0, label + ": " + std::to_string(errors.load())
                         + " lazy_put calls failed");
  r.check(stored == lp.records, label + " stored " + std::to_string(stored)
                                  + " of " + std::to_string(lp.records));
  auto enq = seconds(s.start, s.end);
  auto e2e = seconds(s.start, end);
  json result{{"records", lp.records},
              {"producers", lp.producers},
              {"buffers", lp.buffers},
              {"partitions", lp.partitions},
              {"enqueue_seconds", rounded(enq, 4)},
              {"enqueue_rate", std::llround(rate_of(lp.records, enq))},
              {"end_to_end_seconds", rounded(e2e, 4)},
              {"end_to_end_rate", std::llround(rate_of(lp.records, e2e))},
              {"avg_batch", rounded(stats.value("avg_batch", 0.0), 1)},
              {"batches", stats.value("batches", size_t{0})},
              {"errors", size_t{errors}},
              {"size", stored}};
  if (lp.memory) {
    release_free_memory();
    result["memory"] = memory_figures(lp.records, before_kb, done_kb,
                                      current_rss_kb(), stored_at_done, most);
  }
  return result;
}

// -- 4. put -------------------------------------------------------------------

/// Phase 4 on a fresh cache: producers call the synchronous `put`.
json run_put(caf::actor_system& sys, const workload& w, report& r) {
  if (!start_cache(sys, w, w.opts.buffers, w.opts.partitions, r))
    return nullptr;
  stop_guard guard;
  std::atomic<size_t> errors{0};
  auto s = run_producers(w.producers, [&](size_t p) {
    size_t failed = 0;
    for_keys(p, w.producers, w.put_records, [&](size_t i) {
      if (supercache::put(make_record(i)))
        ++failed;
    });
    errors += failed;
  });
  auto stored = value_or(supercache::size(), size_t{0});
  r.check(errors == 0,
          "put: " + std::to_string(errors.load()) + " calls failed");
  r.check(stored == w.put_records, "put stored " + std::to_string(stored)
                                     + " of "
                                     + std::to_string(w.put_records));
  auto secs = seconds(s.start, s.end);
  return {{"records", w.put_records},
          {"seconds", rounded(secs, 4)},
          {"rate", std::llround(rate_of(w.put_records, secs))},
          {"errors", size_t{errors}},
          {"size", stored}};
}

// -- 5. latency ---------------------------------------------------------------

/// Waits until `due`: sleeps while far from it, then spins, yielding now and
/// then so that the cache's workers get the cores (2 on the reference box).
void pace_until(time_point due) {
  using namespace std::chrono_literals;
  for (unsigned spins = 0;; ++spins) {
    auto now = clock_type::now();
    if (now >= due)
      return;
    if (due - now > 200us)
      std::this_thread::sleep_for(due - now - 100us);
    else if (spins % 16 == 15)
      std::this_thread::yield();
  }
}

/// Phase 5 at one load: a producer paces `lazy_put`s at `target` records/s;
/// the cache partitions time 1 in 16 records from `lazy_put` until visible to
/// `get` (the `latency_us` histogram of `supercache::stats()`), so no
/// observer thread competes for the cores.
json run_latency(caf::actor_system& sys, const workload& w, double load,
                 double target, report& r) {
  target = std::max(target, 1.0);
  auto by_time = static_cast<size_t>(target * w.latency_ms / 1000.0);
  auto n = std::max<size_t>(1, std::min(w.latency_records, by_time));
  if (!start_cache(sys, w, w.opts.buffers, w.opts.partitions, r))
    return nullptr;
  stop_guard guard;
  size_t errors = 0;
  auto interval = 1e9 / target;
  auto s = run_producers(1, [&](size_t) {
    auto t0 = clock_type::now();
    for (size_t i = 0; i < n; ++i) {
      auto offset = static_cast<int64_t>(i * interval);
      pace_until(t0 + std::chrono::nanoseconds{offset});
      if (supercache::lazy_put(make_record(i)))
        ++errors;
    }
  });
  auto flushed = supercache::flush();
  auto stored = value_or(supercache::size(), size_t{0});
  auto stats = value_or(supercache::stats(), json::object());
  auto tag = "latency at " + std::to_string(std::lround(load * 100)) + "%";
  r.check(!flushed, tag + ": flush: " + supercache::render(flushed));
  r.check(errors == 0, tag + ": " + std::to_string(errors)
                         + " lazy_put calls failed");
  r.check(stored == n, tag + ": stored " + std::to_string(stored) + " of "
                         + std::to_string(n));
  auto lat = stats.value("latency_us", json::object());
  auto samples = lat.value("samples", size_t{0});
  r.check(samples > 0, tag + ": no latency samples");
  auto secs = seconds(s.start, s.end);
  return {{"load", load},
          {"target_rate", std::llround(target)},
          {"achieved_rate", std::llround(rate_of(n, secs))},
          {"records", n},
          {"samples", samples},
          {"p50_us", rounded(lat.value("p50", 0.0), 1)},
          {"p99_us", rounded(lat.value("p99", 0.0), 1)},
          {"p999_us", rounded(lat.value("p999", 0.0), 1)},
          {"max_us", rounded(lat.value("max", 0.0), 1)},
          {"errors", errors}};
}

// -- 6. memory in a fresh process ---------------------------------------------

/// Starts `path` with `args` (`args[0]` included) and its stdout on a pipe;
/// returns the pipe's read end, or -1 with a reason in `error`.
int spawn_piped(const char* path, std::vector<std::string> args, pid_t& pid,
                std::string& error) {
  std::vector<char*> cargs;
  for (auto& arg : args)
    cargs.push_back(arg.data());
  cargs.push_back(nullptr);
  int fds[2];
  if (pipe(fds) != 0) {
    error = "pipe failed";
    return -1;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, fds[0]);
  posix_spawn_file_actions_addclose(&actions, fds[1]);
  auto rc = posix_spawn(&pid, path, &actions, nullptr, cargs.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    pid = 0;
    error = std::string{"cannot start "} + path + ": posix_spawn failed: "
            + std::to_string(rc);
    return -1;
  }
  return fds[0];
}

/// Runs this program again with `--mode=lazy` and the other flags of `argv`;
/// returns its JSON line, or a string describing what went wrong.
json run_child(int argc, char** argv) {
  std::vector<std::string> args{argv[0]};
  for (int i = 1; i < argc; ++i)
    if (std::string{argv[i]}.rfind("--mode=", 0) != 0)
      args.emplace_back(argv[i]);
  args.emplace_back("--mode=lazy");
  pid_t pid = 0;
  std::string error;
  auto fd = spawn_piped("/proc/self/exe", std::move(args), pid, error);
  if (fd < 0)
    return error;
  std::string out;
  char buf[4096];
  ssize_t got = 0;
  while ((got = read(fd, buf, sizeof(buf))) > 0)
    out.append(buf, static_cast<size_t>(got));
  close(fd);
  int status = 0;
  waitpid(pid, &status, 0);
  auto line = out.rfind("\n{");
  auto parsed = json::parse(line == std::string::npos ? std::string{}
                                                      : out.substr(line + 1),
                            nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object())
    return "no JSON line from the child";
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    parsed["child_failed"] = true;
  return parsed;
}

// -- 7. scaling ---------------------------------------------------------------

/// Producer counts and buffer (= partition) counts of the scaling table.
constexpr size_t scale_steps[] = {1, 2, 4};

/// Phase 7: end-to-end lazy_put rate for every producers x buffers cell.
json run_scaling(caf::actor_system& sys, const workload& w, report& r) {
  auto result = json::array();
  for (auto producers : scale_steps)
    for (auto bp : scale_steps) {
      auto cell = run_lazy(sys, w,
                           {w.scale_records, producers, bp, bp, false}, r);
      if (!cell.is_null())
        result.push_back(cell);
    }
  return result;
}

// -- printing -----------------------------------------------------------------

/// Prints the workload and the stream settings in effect.
void print_workload(const json& wl) {
  auto& st = wl["stream"];
  std::printf("supercache bench (%s): %zu records [i, \"value-i\"], %zu "
              "producers, %zu scheduler workers, %zu buffers, %zu "
              "partitions, %s table\n",
              wl["mode"].get<std::string>().c_str(),
              wl["records"].get<size_t>(), wl["producers"].get<size_t>(),
              wl["workers"].get<size_t>(), wl["buffers"].get<size_t>(),
              wl["partitions"].get<size_t>(),
              wl["table"].get<std::string>().c_str());
  std::printf("malloc: %s; config file %s (%s); "
              "stream.max-batch-delay=%gus "
              "stream.credit-round-interval=%gus "
              "stream.desired-batch-complexity=%gus\n\n",
              wl["allocator"].get<std::string>().c_str(),
              wl["config_file"].get<std::string>().c_str(),
              wl["config_file_found"].get<bool>() ? "read" : "not found",
              st["max_batch_delay_us"].get<double>(),
              st["credit_round_interval_us"].get<double>(),
              st["desired_batch_complexity_us"].get<double>());
}

/// Prints one row of the throughput table.
void print_rate(const char* what, const json& x, const char* rate_key,
                const char* secs_key, double caf_rate, const char* note) {
  if (x.is_null())
    return;
  auto rate = x[rate_key].get<double>();
  std::printf("  %-30s %10zu %9.3f %11s %8s  %s\n", what,
              x["records"].get<size_t>(), x[secs_key].get<double>(),
              show_rate(rate).c_str(),
              caf_rate > 0 ? show("%.3f", rate / caf_rate).c_str() : "-",
              note);
}

/// Prints the throughput table of phases 1 to 4.
void print_rates(const json& out) {
  auto caf = out.value("caf_limit", json{});
  auto caf_rate = caf.is_null() ? 0.0 : caf["rate"].get<double>();
  std::printf("  %-30s %10s %9s %11s %8s\n", "throughput", "records",
              "seconds", "rate", "vs CAF");
  print_rate("1 CAF limit (anon_send)", caf, "rate", "seconds", caf_rate, "");
  print_rate("2 store limit (table insert)", out.value("store_limit", json{}),
             "rate", "seconds", caf_rate, "");
  auto lazy = out.value("lazy_put", json{});
  if (!lazy.is_null()) {
    print_rate("3 lazy_put enqueue", lazy, "enqueue_rate", "enqueue_seconds",
               caf_rate, "until every lazy_put returned");
    auto note = "until flush returned; avg batch "
                + show("%.1f", lazy["avg_batch"].get<double>());
    print_rate("3 lazy_put end-to-end", lazy, "end_to_end_rate",
               "end_to_end_seconds", caf_rate, note.c_str());
  }
  auto put = out.value("put", json{});
  if (!put.is_null()) {
    auto note = "--put-records=" + std::to_string(put["records"].get<size_t>())
                + " of " + std::to_string(out["workload"]["records"]
                                            .get<size_t>());
    print_rate("4 put (synchronous)", put, "rate", "seconds", caf_rate,
               note.c_str());
  }
  std::printf("\n");
}

/// Prints the latency table of phase 5.
void print_latency(const json& levels) {
  if (!levels.is_array() || levels.empty())
    return;
  std::printf("  5 latency lazy_put -> get  %9s %9s %8s %8s %8s %8s %8s "
              "(us)\n",
              "target", "achieved", "samples", "p50", "p99", "p99.9", "max");
  for (auto& x : levels) {
    if (x.is_null())
      continue;
    auto target = x["target_rate"].get<double>();
    auto achieved = x["achieved_rate"].get<double>();
    std::printf("    at %3ld%% of end-to-end   %9s %9s %8zu %8.1f %8.1f "
                "%8.1f %8.1f%s\n",
                std::lround(x["load"].get<double>() * 100),
                show_rate(target).c_str(), show_rate(achieved).c_str(),
                x["samples"].get<size_t>(), x["p50_us"].get<double>(),
                x["p99_us"].get<double>(), x["p999_us"].get<double>(),
                x["max_us"].get<double>(),
                achieved < 0.95 * target ? "  (pacer fell behind)" : "");
  }
  std::printf("    one pacing producer; the cache partitions time 1 in %u "
              "records from lazy_put until visible\n\n",
              supercache::latency_sample_every);
}

/// Prints the memory figures of phase 6.
void print_memory(const json& m) {
  if (!m.is_object() || !m.contains("peak_rss_kb"))
    return;
  auto mib = [&](const char* key) { return m[key].get<double>() / 1024; };
  std::printf("  6 memory (%s)\n", m.value("source", "").c_str());
  std::printf("    peak RSS %.1f MiB; RSS before %.1f MiB, when producers "
              "returned %.1f MiB (%zu pending), after flush %.1f MiB\n",
              mib("peak_rss_kb"), mib("rss_before_kb"),
              mib("rss_producers_done_kb"),
              m["pending_at_producers_done"].get<size_t>(),
              mib("rss_after_flush_kb"));
  std::printf("    %.1f bytes per stored record; ",
              m["bytes_per_stored_record"].get<double>());
  if (m["bytes_per_pending_record"].is_null())
    std::printf("no record was pending at any 5 ms sample\n\n");
  else
    std::printf("%.1f bytes per pending record (at the 5 ms sample with the "
                "most pending: %zu pending, %zu stored, RSS %.1f MiB)\n\n",
                m["bytes_per_pending_record"].get<double>(),
                m["max_pending"].get<size_t>(),
                m["stored_at_max_pending"].get<size_t>(),
                mib("rss_at_max_pending_kb"));
}

/// Prints the scaling table of phase 7.
void print_scaling(const json& cells, double caf_rate) {
  if (!cells.is_array() || cells.empty())
    return;
  std::printf("  7 scaling: end-to-end lazy_put rate (vs CAF), %zu records "
              "per cell\n",
              cells[0]["records"].get<size_t>());
  std::printf("    %-10s", "producers");
  for (auto bp : scale_steps)
    std::printf("   %zu buffers/partitions", bp);
  std::printf("\n");
  for (auto producers : scale_steps) {
    std::printf("    %-10zu", producers);
    for (auto bp : scale_steps) {
      std::string cell = "-";
      for (auto& x : cells)
        if (x["producers"] == producers && x["buffers"] == bp) {
          auto rate = x["end_to_end_rate"].get<double>();
          cell = show_rate(rate);
          if (caf_rate > 0)
            cell += " (" + show("%.2f", rate / caf_rate) + ")";
        }
      std::printf("   %20s", cell.c_str());
    }
    std::printf("\n");
  }
  std::printf("\n");
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
  out["lazy_put"] = run_lazy(sys, w,
                             {w.records, w.producers, w.opts.buffers,
                              w.opts.partitions, true},
                             r);
  if (out["lazy_put"].is_object()) {
    out["memory"] = out["lazy_put"]["memory"];
    out["memory"]["source"] = "this process, --mode=lazy";
    out["lazy_put"].erase("memory");
  }
  print_rates(out);
  print_memory(out.value("memory", json{}));
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
  out["put"] = run_put(sys, w, r);
  auto caf_rate = out["caf_limit"]["rate"].get<double>();
  for (auto key : {"store_limit", "put"})
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
  out["latency"] = json::array();
  for (auto load : {0.1, 0.8})
    out["latency"].push_back(run_latency(sys, w, load, load * e2e, r));
  print_latency(out["latency"]);
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
  out["scaling"] = run_scaling(sys, w, r);
  for (auto& cell : out["scaling"])
    cell["caf_ratio"] = ratio(cell["end_to_end_rate"].get<double>(),
                              caf_rate);
  print_scaling(out["scaling"], caf_rate);
}

/// A cache node started by `--mode=remote`: killed with SIGTERM when done.
struct cache_node {
  pid_t pid = 0;
  uint16_t port = 0;
  std::string error;

  /// Starts `SUPERCACHE_NODE_PATH --supercache.role="cache"` with the
  /// flags in `extra_args` and reads its port from the `listening` event.
  explicit cache_node(const std::vector<std::string>& extra_args) {
    std::vector<std::string> args{SUPERCACHE_NODE_PATH,
                                  "--supercache.role=\"cache\"",
                                  "--supercache.port=0"};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    auto fd = spawn_piped(SUPERCACHE_NODE_PATH, std::move(args), pid, error);
    if (fd < 0)
      return;
    std::string line;
    char c = 0;
    while (read(fd, &c, 1) == 1 && c != '\n')
      line += c;
    close(fd);
    auto event = json::parse(line, nullptr, false);
    if (!event.is_object() || event.value("event", "") != "listening")
      error = "the cache node printed no listening event: " + line;
    else
      port = event["port"].get<uint16_t>();
  }

  ~cache_node() {
    if (pid > 0) {
      kill(pid, SIGTERM);
      int status = 0;
      waitpid(pid, &status, 0);
    }
  }
};

/// `--mode=remote`: phase 3 into a local cache, then into a cache node.
void run_remote_mode(caf::actor_system& sys, const workload& w, int argc,
                     char** argv, report& r) {
  auto& out = r.out;
  lazy_params lp{w.records, w.producers, w.opts.buffers, w.opts.partitions,
                 false};
  out["lazy_put"] = run_lazy(sys, w, lp, r);
  std::vector<std::string> node_args;
  for (int i = 1; i < argc; ++i)
    for (auto prefix : {"--scheduler.", "--stream.", "--middleman."})
      if (std::string{argv[i]}.rfind(prefix, 0) == 0)
        node_args.emplace_back(argv[i]);
  cache_node node{node_args};
  r.check(node.error.empty(), node.error);
  if (!node.error.empty())
    return;
  lp.remote = "127.0.0.1:" + std::to_string(node.port);
  out["remote"] = run_lazy(sys, w, lp, r);
  if (!out["lazy_put"].is_object() || !out["remote"].is_object())
    return;
  auto local = out["lazy_put"]["end_to_end_rate"].get<double>();
  auto remote = out["remote"]["end_to_end_rate"].get<double>();
  out["remote_ratio"] = ratio(remote, local);
  std::printf("lazy_put end to end, local cache:      %12.0f records/s\n"
              "lazy_put end to end, cache node (TCP): %12.0f records/s\n"
              "remote / local:                        %12.2f\n\n",
              local, remote, remote / local);
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

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
  } catch (...) {
    std::fprintf(stderr, "error: unknown exception\n");
  }
  return EXIT_FAILURE;
}
