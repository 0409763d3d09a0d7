// Phase 8, expiry and size bound: what `ttl` and `max-records` cost the
// lazy_put path (end-to-end rate in this process) and each stored record
// (bytes, from a fresh `--mode=lazy` child).

#include "bench/phases.hpp"

#include <chrono>
#include <cstdio>

namespace supercache::bench {

namespace {

/// Runs phase 3 with `opts` changed by `limit` here and in a child with
/// `flag`; returns the rate figures with the child's memory figures.
template <class Limit>
json run_limited(caf::actor_system& sys, const workload& w, int argc,
                 char** argv, const std::string& flag, Limit limit,
                 report& r) {
  auto limited = w;
  limit(limited.opts);
  auto result = run_lazy(sys, limited,
                         {w.records, w.producers, w.opts.buffers,
                          w.opts.partitions, false},
                         r);
  if (!result.is_object())
    return nullptr;
  result["flag"] = flag;
  auto child = run_child(argc, argv, {flag});
  r.check(child.is_object() && child.contains("memory")
            && !child.value("child_failed", false)
            && child.value("counts_exact", false),
          "memory child (--mode=lazy " + flag + "): "
            + (child.is_string() ? child.get<std::string>()
                                 : std::string{"counts not exact"}));
  if (child.is_object() && child.contains("memory"))
    result["memory"] = child["memory"];
  return result;
}

} // namespace

json run_limits(caf::actor_system& sys, const workload& w, int argc,
                char** argv, report& r) {
  // A ttl no record reaches in the run: the cost of stamping and queueing.
  auto ttl = run_limited(sys, w, argc, argv, "--supercache.ttl=3600s",
                         [](options& x) { x.ttl = std::chrono::hours(1); },
                         r);
  // Half the records fit: every insert beyond evicts one.
  auto bound = std::max<size_t>(1, w.records / 2 / w.opts.partitions);
  auto evict = run_limited(
    sys, w, argc, argv, "--supercache.max-records=" + std::to_string(bound),
    [bound](options& x) { x.max_records = bound; }, r);
  if (evict.is_object())
    evict["max_records_per_partition"] = bound;
  return {{"ttl", ttl}, {"max_records", evict}};
}

void print_limits(const json& limits, double base_rate, double base_bytes) {
  if (!limits.is_object())
    return;
  std::printf("  8 expiry and size bound: lazy_put end-to-end (vs none), "
              "bytes per stored record (fresh --mode=lazy child)\n");
  std::printf("    %-36s %11s %8s %9s %10s\n", "limits", "rate", "vs none",
              "bytes/rec", "evicted");
  std::printf("    %-36s %11s %8s %9.1f %10s\n", "none", show_rate(base_rate).c_str(),
              "1.000", base_bytes, "-");
  for (auto key : {"ttl", "max_records"}) {
    auto& x = limits[key];
    if (!x.is_object())
      continue;
    auto rate = x["end_to_end_rate"].get<double>();
    auto bytes = x.contains("memory")
                   ? x["memory"]["bytes_per_stored_record"].get<double>()
                   : 0.0;
    std::printf("    %-36s %11s %8s %9.1f %10zu\n",
                x["flag"].get<std::string>().c_str(), show_rate(rate).c_str(),
                base_rate > 0 ? show("%.3f", rate / base_rate).c_str() : "-",
                bytes, x["evicted"].get<size_t>());
  }
  std::printf("\n");
}

} // namespace supercache::bench
