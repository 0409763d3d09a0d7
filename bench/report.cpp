// The readable report: the tables printed before the JSON line.

#include "bench/phases.hpp"

#include <cmath>
#include <cstdio>

#include "actors/messages.hpp"

namespace supercache::bench {

namespace {

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

} // namespace

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
  print_rate("4b put_batch (1000 a call)", out.value("put_batch", json{}),
             "rate", "seconds", caf_rate, "");
  print_rate("4c get (full cache)", out.value("get", json{}), "rate",
             "seconds", caf_rate, "lookups/s");
  print_rate("4c' get into a reused result", out.value("get_reuse", json{}),
             "rate", "seconds", caf_rate, "lookups/s, no allocation");
  print_rate("4d get/put 90/10", out.value("get_put_mix", json{}), "rate",
             "seconds", caf_rate, "calls/s");
  print_rate("4e erase (full cache)", out.value("erase", json{}), "rate",
             "seconds", caf_rate, "");
  auto lazy_erase = out.value("lazy_erase", json{});
  if (!lazy_erase.is_null()) {
    auto note = "until flush returned; enqueue "
                + show_rate(lazy_erase["enqueue_rate"].get<double>());
    print_rate("4f lazy_erase end-to-end", lazy_erase, "rate", "seconds",
               caf_rate, note.c_str());
  }
  std::printf("\n");
}

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
    auto pacing = x.value("pacing", "");
    auto level = target == trickle_rate
                   ? std::string{"at a trickle (sleeps)"}
                   : "at " + std::to_string(std::lround(
                       x["load"].get<double>() * 100))
                       + (pacing == "actor" ? "% (in an actor)"
                                            : "% (" + pacing + "s)");
    std::printf("    %-24s %9s %9s %8zu %8.1f %8.1f %8.1f %8.1f%s\n",
                level.c_str(),
                show_rate(target).c_str(), show_rate(achieved).c_str(),
                x["samples"].get<size_t>(), x["p50_us"].get<double>(),
                x["p99_us"].get<double>(), x["p999_us"].get<double>(),
                x["max_us"].get<double>(),
                achieved < 0.95 * target ? "  (pacer fell behind)" : "");
  }
  std::printf("    one pacing producer (a thread, or an actor on the cache's "
              "workers); the cache partitions time 1 in %u "
              "records from lazy_put until visible\n\n",
              supercache::latency_sample_every);
}

void print_growth(const json& g) {
  if (!g.is_object() || !g.contains("batches"))
    return;
  std::printf("  2b table growth: %zu records into one table, %zu a batch; "
              "%s; batch p99 %.0f us, longest %.0f us; %zu of %zu batches "
              "over 250 us\n\n",
              g["records"].get<size_t>(), g["batch"].get<size_t>(),
              show_rate(g["rate"].get<double>()).c_str(),
              g["p99_batch_us"].get<double>(),
              g["longest_batch_us"].get<double>(),
              g["batches_over_250us"].get<size_t>(),
              g["batches"].get<size_t>());
}

void print_memory(const json& m) {
  if (!m.is_object() || !m.contains("peak_rss_kb"))
    return;
  auto mib = [&](const char* key) { return m[key].get<double>() / 1024; };
  std::printf("  6 memory (%s%s)\n", m.value("source", "").c_str(),
              m.value("freed_pages_returned", false)
                ? "; freed pages returned at once, as supercache-node does "
                  "with max-records"
                : "");
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

} // namespace supercache::bench
