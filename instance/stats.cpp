// The instance's metrics.

#include <supercache/instance.hpp>

#include <caf/scoped_actor.hpp>

#include "actors/buffer.hpp"
#include "actors/messages.hpp"
#include "instance/waiting.hpp"

namespace supercache {

namespace detail {

namespace {

/// Returns the running buffers' counters, one object each, and adds them
/// and those of the buffers stopped since the start to `total`.
nlohmann::json buffer_stats(instance_state& st, buffer_counters& total) {
  auto bufs = nlohmann::json::array();
  gate::pass pass{st.buffer_gate};
  if (pass.admitted())
    for (size_t i = 0; i < st.num_buffers; ++i) {
      auto& c = *st.counters->slots[i];
      bufs.push_back(to_json(c));
      total.add(c);
    }
  if (auto retired = std::atomic_load(&st.retired))
    for (auto& c : *retired)
      total.add(*c);
  if (auto cache = st.load())
    total.end_to_end = !cache->remote;
  return bufs;
}

} // namespace

caf::expected<record> local_stats(instance_state& st) {
  auto cache = st.load();
  if (!cache || cache->remote)
    return make_error(errc::not_started);
  auto parts = nlohmann::json::array();
  size_t records = 0;
  size_t batches = 0;
  size_t batched = 0;
  size_t erased = 0;
  size_t expired = 0;
  size_t evicted = 0;
  latency_histogram latency;
  for (auto& tbl : cache->tables) {
    latency.merge(tbl->latency());
    parts.push_back(to_json(*tbl));
    records += tbl->size();
    batches += tbl->batches();
    batched += tbl->batched_records();
    erased += tbl->erased();
    expired += tbl->expired();
    evicted += tbl->evicted();
  }
  double avg = batches > 0 ? static_cast<double>(batched) / batches : 0.0;
  buffer_counters total;
  auto bufs = buffer_stats(st, total);
  auto totals = to_json(total);
  auto us = [&](double q) { return latency.percentile(q) / 1e3; };
  return nlohmann::json{{"records", records},
                        {"enqueued", totals["enqueued"]},
                        {"written", totals["written"]},
                        {"rejected", totals["rejected"]},
                        {"dropped", totals["dropped"]},
                        {"lost", totals["lost"]},
                        {"lost_stored", st.lost_stored.load()},
                        {"expired", expired},
                        {"evicted", evicted},
                        {"pending", totals["pending"]},
                        {"erases", totals["erases"]},
                        {"erased", erased},
                        {"batches", batches},
                        {"avg_batch", avg},
                        {"latency_us",
                         {{"samples", latency.count()},
                          {"p50", us(0.5)},
                          {"p99", us(0.99)},
                          {"p999", us(0.999)},
                          {"max", latency.max() / 1e3}}},
                        {"unexpected", st.guards->unexpected.load()},
                        {"refused", st.guards->refused.load()},
                        {"refused_records", st.guards->refused_records.load()},
                        {"buffers", std::move(bufs)},
                        {"partitions", std::move(parts)}};
}

} // namespace detail

using namespace detail;

caf::expected<nlohmann::json> instance::stats() {
  auto& st = *state_;
  auto cache = st.load();
  if (!cache)
    return make_error(errc::not_started);
  if (!cache->remote)
    return local_stats(st);
  // The partitions, their records and latencies are the cache node's.
  if (auto err = refuse_on_worker(st, "stats of a remote cache"))
    return err;
  buffer_counters total;
  auto bufs = buffer_stats(st, total);
  if (!cache->cluster.empty()) {
    // Each partition counted once, from a live copy; each node's own state.
    auto records = remote_size(st, *cache);
    if (!records)
      return std::move(records.error());
    auto result = to_json(total);
    result["records"] = *records;
    result["buffers"] = std::move(bufs);
    result["unexpected"] = st.guards->unexpected.load();
    result["refused"] = st.guards->refused.load();
    result["refused_records"] = st.guards->refused_records.load();
    result["cluster"] = cluster_stats(st, *cache);
    return result;
  }
  caf::scoped_actor self{st.sys};
  caf::expected<record> node{record{}};
  self->request(cache->remote, cache->opts.connect_timeout, stats_atom::value)
    .receive([&](record& x) { node = std::move(x); },
             [&](caf::error& err) { node = remote_error(*cache, err); });
  if (!node)
    return std::move(node.error());
  auto result = to_json(total);
  result["records"] = (*node)["records"];
  result["lost_stored"] = (*node)["lost_stored"];
  result["erased"] = (*node)["erased"];
  result["buffers"] = std::move(bufs);
  // What this instance's own actors (its buffers) refused.
  result["unexpected"] = st.guards->unexpected.load();
  result["refused"] = st.guards->refused.load();
  result["refused_records"] = st.guards->refused_records.load();
  result["cache_node"] = std::move(*node);
  return result;
}

} // namespace supercache
