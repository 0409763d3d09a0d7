// Phase 5, latency: from lazy_put to visible in get, at a paced load.

#include "bench/phases.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <thread>

namespace supercache::bench {

namespace {

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

} // namespace

json run_latency(caf::actor_system& sys, const workload& w, double load,
                 double target, bool sleep, report& r) {
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
      auto due = t0 + std::chrono::nanoseconds{offset};
      if (sleep)
        std::this_thread::sleep_until(due);
      else
        pace_until(due);
      if (supercache::lazy_put(make_record(i)))
        ++errors;
    }
  });
  auto flushed = supercache::flush();
  auto stored = value_or(supercache::size(), size_t{0});
  auto stats = value_or(supercache::stats(), json::object());
  auto tag = "latency at " + std::to_string(std::lround(load * 100)) + "% ("
             + (sleep ? "sleeps" : "spins") + ")";
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
          {"pacing", sleep ? "sleep" : "spin"},
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

} // namespace supercache::bench
