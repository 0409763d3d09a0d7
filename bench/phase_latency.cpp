// Phase 5, latency: from lazy_put to visible in get, at a paced load.

#include "bench/phases.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <thread>

#include <caf/atom.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>

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

using pace_atom = caf::atom_constant<caf::atom("sc_pace")>;

/// How long an actor pacer waits between its turns; CAF's clock adds its
/// own delay.
constexpr auto actor_tick = std::chrono::microseconds{50};

/// Puts the `n` records of one level from inside an actor, as a user's actor
/// would: at each turn it puts every record due by then (each due
/// `interval_ns` after the one before, from `t0`), then asks CAF's clock for
/// its next turn, leaving the workers to the cache in between. Tells `done`
/// the number of failed calls when the last record is put.
caf::behavior actor_pacer(caf::event_based_actor* self, time_point t0,
                          double interval_ns, size_t n, caf::actor done) {
  auto next = std::make_shared<size_t>(0);
  auto errors = std::make_shared<size_t>(0);
  return {
    [=](pace_atom) {
      auto now = clock_type::now();
      for (; *next < n; ++*next) {
        auto offset = static_cast<int64_t>(*next * interval_ns);
        if (t0 + std::chrono::nanoseconds{offset} > now)
          break;
        if (supercache::lazy_put(make_record(*next)))
          ++*errors;
      }
      if (*next < n) {
        self->delayed_send(self, actor_tick, pace_atom::value);
        return;
      }
      self->send(done, *errors);
      self->quit();
    },
  };
}

/// Runs the actor pacer of `n` records at one every `interval_ns`; returns
/// when it started and put its last record, or nothing if it did not finish
/// within a minute (counted in `errors`).
span pace_in_actor(caf::actor_system& sys, size_t n, double interval_ns,
                   size_t& errors) {
  caf::scoped_actor self{sys};
  span s;
  s.start = clock_type::now();
  auto pacer = sys.spawn(actor_pacer, s.start, interval_ns, n,
                         caf::actor{self});
  self->send(pacer, pace_atom::value);
  self->receive([&](size_t failed) { errors += failed; },
                caf::after(std::chrono::minutes{1}) >> [&] {
                  errors += n;
                  caf::anon_send_exit(pacer, caf::exit_reason::user_shutdown);
                });
  s.end = clock_type::now();
  return s;
}

} // namespace

std::string pacing_name(pacing p) {
  switch (p) {
    case pacing::sleep:
      return "sleep";
    case pacing::spin:
      return "spin";
    default:
      return "actor";
  }
}

json run_latency(caf::actor_system& sys, const workload& w, double load,
                 double target, pacing how, report& r) {
  target = std::max(target, 1.0);
  auto by_time = static_cast<size_t>(target * w.latency_ms / 1000.0);
  auto n = std::max<size_t>(1, std::min(w.latency_records, by_time));
  if (!start_cache(sys, w, w.opts.buffers, w.opts.partitions, r))
    return nullptr;
  stop_guard guard;
  size_t errors = 0;
  auto interval = 1e9 / target;
  auto producer = [&](size_t) {
    auto t0 = clock_type::now();
    for (size_t i = 0; i < n; ++i) {
      auto offset = static_cast<int64_t>(i * interval);
      auto due = t0 + std::chrono::nanoseconds{offset};
      if (how == pacing::sleep)
        std::this_thread::sleep_until(due);
      else
        pace_until(due);
      if (supercache::lazy_put(make_record(i)))
        ++errors;
    }
  };
  auto s = how == pacing::actor ? pace_in_actor(sys, n, interval, errors)
                                : run_producers(1, producer);
  auto flushed = supercache::flush();
  auto stored = value_or(supercache::size(), size_t{0});
  auto stats = value_or(supercache::stats(), json::object());
  auto tag = "latency at " + std::to_string(std::lround(load * 100)) + "% ("
             + pacing_name(how) + ")";
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
          {"pacing", pacing_name(how)},
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
