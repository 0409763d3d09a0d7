// Phase 3, lazy_put (with the memory figures of phase 6 on request), and
// phase 7, scaling: lazy_put on other producer and buffer counts.

#include "bench/phases.hpp"

#include <cmath>
#include <thread>

namespace supercache::bench {

// -- 3. lazy_put --------------------------------------------------------------

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
    opts.replicas = lp.replicas;
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
  // Records evicted at max-records or expired after ttl left the cache.
  auto evicted = stats.value("evicted", size_t{0});
  auto expired = stats.value("expired", size_t{0});
  r.check(stored + evicted + expired == lp.records,
          label + " stored " + std::to_string(stored) + " (evicted "
            + std::to_string(evicted) + ", expired " + std::to_string(expired)
            + ") of " + std::to_string(lp.records));
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
              {"size", stored},
              {"evicted", evicted},
              {"expired", expired}};
  if (lp.memory) {
    release_free_memory();
    result["memory"] = memory_figures(lp.records, stored, before_kb, done_kb,
                                      current_rss_kb(), stored_at_done, most);
  }
  return result;
}

// -- 7. scaling ---------------------------------------------------------------

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

} // namespace supercache::bench
