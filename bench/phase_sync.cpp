// Phase 4b-4f, the calls beside `put`: `put_batch`, `get` (the producers
// look up every key of a full cache), a 90/10 get/put mix, `erase` of every
// key of a full cache and `lazy_erase` of every key then `flush`.

#include "bench/phases.hpp"

#include <cmath>

namespace supercache::bench {

namespace {

/// Records per `put_batch` call.
constexpr size_t batch_size = 1000;

/// Fills a started cache with the workload's `n` records (keys 0..n-1).
bool fill(size_t n, report& r) {
  std::vector<record> xs;
  for (size_t i = 0; i < n; ++i) {
    xs.push_back(make_record(i));
    if (xs.size() == batch_size || i + 1 == n) {
      if (auto err = supercache::put_batch(std::move(xs))) {
        r.check(false, "fill: " + render(err));
        return false;
      }
      xs.clear();
    }
  }
  return true;
}

json rate_json(size_t n, span s, size_t errors, size_t size) {
  auto secs = seconds(s.start, s.end);
  return {{"records", n},
          {"seconds", rounded(secs, 4)},
          {"rate", std::llround(rate_of(n, secs))},
          {"errors", errors},
          {"size", size}};
}

} // namespace

json run_put_batch(caf::actor_system& sys, const workload& w, report& r) {
  if (!start_cache(sys, w, w.opts.buffers, w.opts.partitions, r))
    return nullptr;
  stop_guard guard;
  std::atomic<size_t> errors{0};
  auto s = run_producers(w.producers, [&](size_t p) {
    size_t failed = 0;
    std::vector<record> xs;
    for_keys(p, w.producers, w.put_records, [&](size_t i) {
      xs.push_back(make_record(i));
      if (xs.size() == batch_size) {
        if (supercache::put_batch(std::move(xs)))
          ++failed;
        xs.clear();
      }
    });
    if (!xs.empty() && supercache::put_batch(std::move(xs)))
      ++failed;
    errors += failed;
  });
  auto stored = value_or(supercache::size(), size_t{0});
  r.check(errors == 0, "put_batch: " + std::to_string(errors.load())
                         + " calls failed");
  r.check(stored == w.put_records, "put_batch stored "
                                     + std::to_string(stored) + " of "
                                     + std::to_string(w.put_records));
  auto result = rate_json(w.put_records, s, errors, stored);
  result["batch"] = batch_size;
  return result;
}

namespace {

/// Fills a cache with `--put-records` records, then looks every key up
/// once, from `--producers` threads: `lookup(p)` gives thread `p`'s
/// function from a key to whether it found exactly its record.
template <class MakeLookup>
json run_lookups(caf::actor_system& sys, const workload& w, report& r,
                 const char* what, MakeLookup make_lookup) {
  if (!start_cache(sys, w, w.opts.buffers, w.opts.partitions, r)
      || !fill(w.put_records, r))
    return nullptr;
  stop_guard guard;
  std::atomic<size_t> errors{0};
  auto s = run_producers(w.producers, [&](size_t p) {
    size_t failed = 0;
    auto lookup = make_lookup(p);
    for_keys(p, w.producers, w.put_records, [&](size_t i) {
      if (!lookup(i))
        ++failed;
    });
    errors += failed;
  });
  r.check(errors == 0, std::string{what} + ": " + std::to_string(errors.load())
                         + " lookups failed or found no exact record");
  return rate_json(w.put_records, s, errors,
                   value_or(supercache::size(), size_t{0}));
}

} // namespace

json run_get(caf::actor_system& sys, const workload& w, report& r) {
  return run_lookups(sys, w, r, "get", [](size_t) {
    return [](size_t i) {
      auto xs = supercache::get(record::array({i}));
      return xs && xs->size() == 1 && (*xs)[0][0] == i;
    };
  });
}

json run_get_reuse(caf::actor_system& sys, const workload& w, report& r) {
  // One pattern and one result per thread, as a lookup loop keeps them:
  // after the first lookup none allocates.
  struct reused {
    record pattern = record::array({size_t{0}});
    std::vector<record> xs;
    bool operator()(size_t i) {
      pattern[0] = i;
      return !supercache::get(pattern, xs) && xs.size() == 1 && xs[0][0] == i;
    }
  };
  return run_lookups(sys, w, r, "get into a reused result",
                     [](size_t) { return reused{}; });
}

json run_mix(caf::actor_system& sys, const workload& w, report& r) {
  if (!start_cache(sys, w, w.opts.buffers, w.opts.partitions, r)
      || !fill(w.put_records, r))
    return nullptr;
  stop_guard guard;
  std::atomic<size_t> errors{0};
  // Call i of a producer is a put when i % 10 == 9, else a get; each key of
  // the full cache once.
  auto s = run_producers(w.producers, [&](size_t p) {
    size_t failed = 0;
    for_keys(p, w.producers, w.put_records, [&](size_t i) {
      if (i % 10 == 9) {
        if (supercache::put(make_record(i)))
          ++failed;
        return;
      }
      auto xs = supercache::get(record::array({i}));
      if (!xs || xs->size() != 1)
        ++failed;
    });
    errors += failed;
  });
  auto size = value_or(supercache::size(), size_t{0});
  r.check(errors == 0, "get/put mix: " + std::to_string(errors.load())
                         + " calls failed");
  r.check(size == w.put_records, "get/put mix left " + std::to_string(size)
                                   + " of " + std::to_string(w.put_records));
  auto result = rate_json(w.put_records, s, errors, size);
  result["get_share"] = 0.9;
  return result;
}

json run_erase(caf::actor_system& sys, const workload& w, report& r) {
  if (!start_cache(sys, w, w.opts.buffers, w.opts.partitions, r)
      || !fill(w.put_records, r))
    return nullptr;
  stop_guard guard;
  std::atomic<size_t> errors{0};
  std::atomic<size_t> removed{0};
  auto s = run_producers(w.producers, [&](size_t p) {
    size_t failed = 0;
    size_t n = 0;
    for_keys(p, w.producers, w.put_records, [&](size_t i) {
      auto k = supercache::erase(record::array({i}));
      if (!k)
        ++failed;
      else
        n += *k;
    });
    errors += failed;
    removed += n;
  });
  auto size = value_or(supercache::size(), size_t{0});
  r.check(errors == 0, "erase: " + std::to_string(errors.load())
                         + " calls failed");
  r.check(removed == w.put_records,
          "erase removed " + std::to_string(removed.load()) + " of "
            + std::to_string(w.put_records));
  r.check(size == 0, "erase left " + std::to_string(size) + " records");
  auto result = rate_json(w.put_records, s, errors, size);
  result["erased"] = removed.load();
  return result;
}

json run_lazy_erase(caf::actor_system& sys, const workload& w, report& r) {
  if (!start_cache(sys, w, w.opts.buffers, w.opts.partitions, r)
      || !fill(w.put_records, r))
    return nullptr;
  stop_guard guard;
  std::atomic<size_t> errors{0};
  auto s = run_producers(w.producers, [&](size_t p) {
    size_t failed = 0;
    for_keys(p, w.producers, w.put_records, [&](size_t i) {
      if (supercache::lazy_erase(record::array({i})))
        ++failed;
    });
    errors += failed;
  });
  auto enqueued = s.end;
  auto flushed = supercache::flush();
  s.end = clock_type::now();
  r.check(!flushed, "lazy_erase: flush failed: " + render(flushed));
  auto size = value_or(supercache::size(), size_t{0});
  auto st = value_or(supercache::stats(), json::object());
  auto erases = st.value("erases", size_t{0});
  auto erased = st.value("erased", size_t{0});
  r.check(errors == 0, "lazy_erase: " + std::to_string(errors.load())
                         + " calls failed");
  r.check(erases == w.put_records,
          "lazy_erase: stats erases " + std::to_string(erases) + " of "
            + std::to_string(w.put_records));
  r.check(erased == w.put_records,
          "lazy_erase: stats erased " + std::to_string(erased) + " of "
            + std::to_string(w.put_records));
  r.check(size == 0, "lazy_erase left " + std::to_string(size) + " records");
  auto result = rate_json(w.put_records, s, errors, size);
  auto enqueue_secs = seconds(s.start, enqueued);
  result["enqueue_seconds"] = rounded(enqueue_secs, 4);
  result["enqueue_rate"] = std::llround(rate_of(w.put_records,
                                                enqueue_secs));
  result["erased"] = erased;
  return result;
}

} // namespace supercache::bench
