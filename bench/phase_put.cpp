// Phase 4, put: synchronous writes.

#include "bench/phases.hpp"

#include <cmath>

namespace supercache::bench {

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

} // namespace supercache::bench
