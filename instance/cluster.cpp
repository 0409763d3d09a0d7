// A producer's cluster: placing the partitions of several cache nodes
// (core/cluster_map.hpp), telling each node its place, and its stats.

#include <algorithm>
#include <cstdio>

#include <caf/scoped_actor.hpp>

#include <supercache/supercache.hpp>

#include "actors/messages.hpp"
#include "core/cluster_map.hpp"
#include "instance/state.hpp"
#include "instance/waiting.hpp"

namespace supercache::detail {

namespace {

/// Returns the context of our error `err`, or its rendering.
std::string context_of(const caf::error& err) {
  if (err.category() == error_category && !err.context().empty()
      && err.context().match_elements<std::string>())
    return err.context().get_as<std::string>(0);
  return render(err);
}

/// Has every node in `replies` that holds no place, while another holds a
/// place and records, copy its partitions from live copies (rejoin): it
/// restarted empty in a running cluster. A node that cannot (a partition of
/// it has no placed live copy, the copy fails) is marked down: until it
/// copies its partitions it would answer reads without the records written
/// before.
void rejoin_restarted(caf::actor_system& sys, const cache_view& view,
                      std::vector<node_reply>& replies, size_t parts) {
  std::vector<bool> placed(replies.size(), false);
  bool running = false;
  caf::scoped_actor self{sys};
  for (size_t k = 0; k < replies.size(); ++k) {
    if (replies[k].down)
      continue;
    caf::error err;
    self->request(replies[k].front, view.opts.connect_timeout,
                  cluster_atom::value)
      .receive(
        [&](std::string& place, uint64_t records) {
          placed[k] = !place.empty();
          running = running || (placed[k] && records > 0);
        },
        [&](caf::error& x) { err = remote_error(view, k, x); });
    if (err)
      replies[k].down = std::move(err);
  }
  if (!running)
    return;
  cluster_map map{replies.size(), parts, view.opts.replicas};
  for (size_t k = 0; k < replies.size(); ++k) {
    if (replies[k].down || placed[k])
      continue;
    auto restarted = "the cache node at " + view.nodes[k]
                     + " restarted empty in a running cluster";
    // The node of a live, placed copy of each of its partitions.
    std::vector<std::string> leaders(parts);
    std::string missing;
    for (auto p : map.partitions_of(k)) {
      for (auto j : map.nodes_of(p))
        if (j != k && !replies[j].down && placed[j]) {
          leaders[p] = view.nodes[j];
          break;
        }
      if (leaders[p].empty())
        missing += (missing.empty() ? "" : ", ") + std::to_string(p + 1);
    }
    if (!missing.empty()) {
      replies[k].down = make_error(errc::unreachable,
                                   restarted + " and cannot copy partitions "
                                     + missing + ": no other copy answers");
      continue;
    }
    auto desc = map.describe_node(k, view.nodes);
    self
      ->request(replies[k].front, 3 * view.opts.call_timeout,
                rejoin_atom::value, desc, leaders)
      .receive(
        [&](caf::ok_atom) {
          std::fprintf(stderr,
                       "supercache: connect: %s; it copied its partitions "
                       "from their other replicas (rejoin)\n",
                       restarted.c_str());
        },
        [&](caf::error& x) {
          replies[k].down = make_error(errc::unreachable,
                                       restarted + " and could not copy its "
                                         "partitions: "
                                         + render(remote_error(view, k, x)));
        });
  }
}

} // namespace

caf::error assemble_cluster(caf::actor_system& sys, cache_view& view,
                            std::vector<node_reply>& replies) {
  auto& opts = view.opts;
  size_t first_up = 0;
  while (first_up < replies.size() && replies[first_up].down)
    ++first_up;
  if (first_up == replies.size())
    return replies.front().down; // no node answered
  auto& first = replies[first_up];
  auto parts = first.partitions.size();
  auto type = first.settings.value("table-type", "set");
  for (size_t k = first_up + 1; k < replies.size(); ++k) {
    auto& x = replies[k];
    if (x.down)
      continue;
    auto other = x.settings.value("table-type", "set");
    if (x.partitions.size() != parts || other != type)
      return make_error(errc::invalid_option,
                        "the cache node at " + view.nodes[k] + " has "
                          + std::to_string(x.partitions.size())
                          + " partitions of table-type " + other
                          + ", the cache node at " + view.nodes[first_up] + " "
                          + std::to_string(parts) + " of " + type
                          + ": start every node of a cluster with the same "
                            "partitions and table-type");
  }
  if (replies.size() > 1 || opts.replicas > 1)
    rejoin_restarted(sys, view, replies, parts);
  cluster_map map{replies.size(), parts, opts.replicas};
  view.remote = first.front;
  for (auto& x : replies)
    view.fronts.push_back(x.front); // also a restarted node's, for stats
  view.partitions.resize(parts);
  view.copies.resize(parts);
  view.copy_nodes.resize(parts);
  for (size_t p = 0; p < parts; ++p) {
    std::string gone;
    for (auto k : map.nodes_of(p)) {
      if (replies[k].down) {
        gone += (gone.empty() ? "" : "; ") + context_of(replies[k].down);
        continue;
      }
      view.copy_nodes[p].push_back(k);
      view.copies[p].push_back(replies[k].partitions[p]);
    }
    if (view.copies[p].empty())
      return make_error(errc::unreachable,
                        "cache partition " + std::to_string(p + 1)
                          + " has no copy that answers: " + gone);
    view.partitions[p] = view.copies[p].front();
  }
  for (size_t k = 0; k < replies.size(); ++k)
    if (replies[k].down)
      std::fprintf(stderr,
                   "supercache: connect: %s; its partitions go on with "
                   "their other replicas\n",
                   render(replies[k].down).c_str());
  if (replies.size() == 1 && opts.replicas == 1) {
    // One node, as before clusters: nothing to agree on, unless the node
    // was started with its place. Then a producer of that same place
    // states it; any other instance only reads that node.
    auto place = first.settings.value("place", std::string{});
    if (place.empty())
      return caf::none;
    if (auto own = map.describe_node(0, view.nodes); place != own) {
      view.read_only = "the cache node at " + view.nodes[0]
                       + " is configured as " + place
                       + " (its supercache.remote); this instance places it "
                         "as " + own
                       + ", so it reads from that node and does not write "
                         "to it: to write, give it the cluster's remote "
                         "list, partitions and replicas";
      return caf::none;
    }
  }
  view.cluster = map.describe(view.nodes);
  caf::scoped_actor self{sys};
  for (size_t k = 0; k < replies.size(); ++k) {
    if (replies[k].down)
      continue;
    auto desc = map.describe_node(k, view.nodes);
    caf::error err;
    self->request(replies[k].front, opts.connect_timeout,
                  cluster_atom::value, desc)
      .receive([](caf::ok_atom) {},
               [&](caf::error& x) {
                 if (x.category() == error_category)
                   err = make_error(static_cast<errc>(x.code()),
                                    "the cache node at " + view.nodes[k]
                                      + " refused its place: "
                                      + context_of(x));
                 else
                   err = remote_error(view, k, x);
               });
    if (err)
      return err;
  }
  return caf::none;
}

record cluster_stats(instance_state& st, const cache_view& cache) {
  auto nodes = record::array();
  std::vector<bool> up(cache.fronts.size(), false);
  caf::scoped_actor self{st.sys};
  for (size_t k = 0; k < cache.fronts.size(); ++k) {
    record x{{"node", cache.nodes[k]}};
    // A node that rejoined after `connect` answers through its new front.
    auto front = cache.rejoined ? cache.rejoined->front(cache.nodes[k])
                                : caf::actor{};
    if (!front)
      front = cache.fronts[k];
    if (!front) {
      x["up"] = false;
      x["error"] = "did not answer at connect";
      nodes.push_back(std::move(x));
      continue;
    }
    if (gone(self, front)) {
      x["up"] = false;
      x["error"] = "went away";
      nodes.push_back(std::move(x));
      continue;
    }
    self
      ->request(front, cache.opts.connect_timeout, stats_atom::value)
      .receive(
        [&](record& y) {
          up[k] = true;
          x["up"] = true;
          x["records"] = y["records"];
        },
        [&](caf::error& err) {
          x["up"] = false;
          x["error"] = render(remote_error(cache, k, err));
        });
    nodes.push_back(std::move(x));
  }
  auto parts = record::array();
  for (size_t p = 0; p < cache.copies.size(); ++p) {
    auto copies = record::array();
    auto in_sync = record::array();
    cluster_map map{cache.nodes.size(), cache.copies.size(),
                    cache.opts.replicas};
    auto used = cache.copy_nodes[p];
    if (cache.rejoined)
      for (auto& x : cache.rejoined->of(p))
        used.push_back(cache.node_index(x.node));
    for (auto k : map.nodes_of(p)) {
      copies.push_back(cache.nodes[k]);
      in_sync.push_back(up[k]
                        && std::find(used.begin(), used.end(), k)
                             != used.end());
    }
    parts.push_back({{"partition", p + 1},
                     {"replicas", std::move(copies)},
                     {"in_sync", std::move(in_sync)}});
  }
  return {{"map", cache.cluster.empty() ? cache.peer : cache.cluster},
          {"replicas", cache.opts.replicas},
          {"nodes", std::move(nodes)},
          {"partitions", std::move(parts)}};
}

} // namespace supercache::detail
