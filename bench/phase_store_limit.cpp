// Phase 2, the store limit: what the storage alone costs on the workload.

#include "bench/phases.hpp"

#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

#include "core/table.hpp"

namespace supercache::bench {

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

json run_growth(const workload& w, report& r) {
  constexpr size_t batch_size = 256;
  auto layout = w.opts.layout();
  supercache::table tbl{w.opts.type, layout};
  std::vector<supercache::entry> batch;
  std::vector<double> times;
  for (size_t done = 0; done < w.latency_records;) {
    batch.clear();
    for (; batch.size() < batch_size && done < w.latency_records; ++done) {
      supercache::entry e;
      e.value = supercache::packed::pack(make_record(done), layout).first;
      batch.push_back(std::move(e));
    }
    auto t0 = clock_type::now();
    tbl.insert(batch);
    times.push_back(seconds(t0, clock_type::now()) * 1e6);
  }
  double total_us = 0;
  for (auto us : times)
    total_us += us;
  std::sort(times.begin(), times.end());
  auto over = static_cast<size_t>(
    times.end() - std::upper_bound(times.begin(), times.end(), 250.0));
  auto longest = times.empty() ? 0.0 : times.back();
  auto p99 = times.empty() ? 0.0 : times[times.size() * 99 / 100];
  r.check(tbl.size() == w.latency_records,
          "table growth stored " + std::to_string(tbl.size()) + " of "
            + std::to_string(w.latency_records));
  return {{"records", w.latency_records},
          {"batch", batch_size},
          {"batches", times.size()},
          {"rate", std::llround(rate_of(w.latency_records, total_us / 1e6))},
          {"longest_batch_us", rounded(longest, 1)},
          {"p99_batch_us", rounded(p99, 1)},
          {"batches_over_250us", over}};
}

} // namespace supercache::bench
