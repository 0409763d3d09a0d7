#pragma once

/// What every part of the benchmark shares: the workload, the report, the
/// producer threads and the helpers for times, rates and formatting. The
/// program and its phases are described in main.cpp.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/expected.hpp>
#include <caf/timespan.hpp>

#include <supercache/supercache.hpp>

namespace supercache::bench {

using json = nlohmann::json;
using clock_type = std::chrono::steady_clock;
using time_point = clock_type::time_point;

// -- helpers ------------------------------------------------------------------

/// Builds record `i` of the workload: `[i, "value-i"]`.
record make_record(size_t i);

/// Returns the number of keys producer `p` of `producers` writes out of
/// `records` (keys p, p + producers, ...).
size_t share_of(size_t p, size_t producers, size_t records);

/// Returns `x` in nanoseconds since the steady clock's epoch.
int64_t to_ns(time_point x);

/// Returns the seconds from `from` to `to`.
double seconds(time_point from, time_point to);

/// Returns the value of `x`, or `fallback` if it holds an error.
template <class T>
T value_or(caf::expected<T> x, T fallback) {
  return x ? std::move(*x) : std::move(fallback);
}

/// Returns `x` rounded to `digits` decimals, for compact JSON.
double rounded(double x, int digits);

/// Returns `n / secs`, or 0 for an empty interval.
double rate_of(size_t n, double secs);

/// Returns `x / y` rounded to 3 decimals, or 0 if `y` is 0.
double ratio(double x, double y);

/// Formats a rate as e.g. `1.23M/s`.
std::string show_rate(double x);

/// Formats `x` with a printf `format` such as `%.2f`.
std::string show(const char* format, double x);

/// Returns a timespan in microseconds.
double micros(caf::timespan x);

// -- the workload -------------------------------------------------------------

/// The workload of a run, read from the flags and the config file.
struct workload {
  /// `all`, `lazy` or `remote`.
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

// -- printing (report.cpp) ----------------------------------------------------

/// Prints the workload and the stream settings in effect.
void print_workload(const json& wl);

/// Prints the throughput table of phases 1 to 4.
void print_rates(const json& out);

/// Prints the latency table of phase 5.
void print_latency(const json& levels);

/// Prints phase 2b, the insert batches in which a table doubled.
void print_growth(const json& g);

/// Prints the memory figures of phase 6.
void print_memory(const json& m);

/// Prints the scaling table of phase 7.
void print_scaling(const json& cells, double caf_rate);

// -- the cache ----------------------------------------------------------------

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
                 size_t partitions, report& r);

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

} // namespace supercache::bench
