// Phase 2, the store limit: what the storage alone costs on the workload.

#include "bench/phases.hpp"

#include <cmath>
#include <memory>

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

} // namespace supercache::bench
