// The instance across nodes: publishing a cache, connecting to one.

#include <supercache/instance.hpp>

#include <algorithm>
#include <optional>

#include <caf/deep_to_string.hpp>
#include <caf/io/middleman.hpp>
#include <caf/openssl/manager.hpp>
#include <caf/openssl/publish.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/sec.hpp>

#include <supercache/supercache.hpp>

#include "actors/messages.hpp"
#include "config/tls.hpp"
#include "instance/leak_check.hpp"
#include "instance/waiting.hpp"

namespace supercache {

namespace detail {

caf::error remote_error(const std::string& peer, caf::timespan timeout,
                        const caf::error& err) {
  if (err.category() == error_category)
    return err;
  if (err == caf::sec::request_timeout)
    return make_error(errc::unreachable, "the cache node at " + peer
                                           + " did not answer within "
                                           + caf::deep_to_string(timeout));
  return make_error(errc::unreachable, "the cache node at " + peer
                                         + " failed: " + render(err));
}

caf::error remote_error(const cache_view& cache, const caf::error& err) {
  return remote_error(cache.peer, cache.opts.connect_timeout, err);
}

caf::error remote_error(const cache_view& cache, size_t node,
                        const caf::error& err) {
  return remote_error(node < cache.nodes.size() ? cache.nodes[node]
                                                : cache.peer,
                      cache.opts.connect_timeout, err);
}

caf::expected<size_t> remote_size(instance_state& st,
                                  const cache_view& cache) {
  if (!cache.cluster.empty()) {
    // Each partition once, from a live copy.
    size_t result = 0;
    for (size_t p = 0; p < cache.copies.size(); ++p) {
      auto n = ask_partition<uint64_t>(st, cache, p, size_atom::value);
      if (!n)
        return std::move(n.error());
      result += static_cast<size_t>(*n);
    }
    return result;
  }
  caf::scoped_actor self{st.sys};
  caf::expected<size_t> result{size_t{0}};
  self->request(cache.remote, cache.opts.connect_timeout, size_atom::value)
    .receive([&](uint64_t n) { result = static_cast<size_t>(n); },
             [&](caf::error& err) { result = remote_error(cache, err); });
  return result;
}

/// Returns the layout settings a front reports to producers.
record settings_of(const options& opts) {
  return {{"key-pos", opts.key_pos},
          {"partition-pos", opts.partition_pos},
          {"table-type", to_string(opts.type)},
          {"wire", batch_wire_form}};
}

namespace {

/// Returns an error naming `what` if `sys` has no network layer; else
/// exempts its BASP broker from leak checks (instance/leak_check.hpp).
caf::error need_middleman(caf::actor_system& sys, const char* what) {
  if (sys.has_middleman()) {
    exempt_basp_broker(sys);
    return caf::none;
  }
  return make_error(errc::invalid_option,
                    std::string{what}
                      + " needs CAF's network layer: call "
                        "cfg.load<caf::io::middleman>() before constructing "
                        "the actor system");
}

/// Checks the partitions and settings a cache node sent against `opts`.
caf::error check_peer(const options& opts, const std::string& peer,
                      const std::vector<caf::actor>& parts,
                      const record& settings) {
  auto bad = [&](std::string what) {
    return make_error(errc::unreachable,
                      "the cache node at " + peer + " " + what);
  };
  if (parts.empty() || parts.size() > max_registered_id)
    return bad("reported " + std::to_string(parts.size()) + " partitions");
  for (auto& hdl : parts)
    if (!hdl)
      return bad("reported a partition that is not running");
  auto pos = [&](const char* key) -> std::optional<size_t> {
    auto i = settings.find(key);
    if (i == settings.end() || !i->is_number_unsigned())
      return std::nullopt;
    return i->get<size_t>();
  };
  if (auto wire = pos("wire"); wire != batch_wire_form)
    return bad("sends stream batches in form "
               + (wire ? std::to_string(*wire)
                       : std::string{"1 (it reports none: a version from "
                                     "before 2026-12-01)"})
               + ", this node in form " + std::to_string(batch_wire_form)
               + ": run the same supercache version on both");
  for (auto key : {"table-type", "place"})
    if (auto i = settings.find(key); i != settings.end() && !i->is_string())
      return bad("sent settings whose " + std::string{key}
                 + " is not a string: " + settings.dump());
  auto key_pos = pos("key-pos");
  auto partition_pos = pos("partition-pos");
  if (!key_pos || !partition_pos)
    return bad("sent settings without key-pos or partition-pos: "
               + settings.dump());
  if (*key_pos != opts.key_pos || *partition_pos != opts.partition_pos)
    return make_error(errc::invalid_option,
                      "the cache node at " + peer + " has key-pos = "
                        + std::to_string(*key_pos) + ", partition-pos = "
                        + std::to_string(*partition_pos)
                        + "; this node has key-pos = "
                        + std::to_string(opts.key_pos) + ", partition-pos = "
                        + std::to_string(opts.partition_pos)
                        + ": set the same values on both");
  return caf::none;
}

} // namespace

caf::expected<node_reply> ask_node_at(caf::actor_system& sys, bool tls,
                                      const options& opts, const endpoint& ep,
                                      const std::string& peer) {
  node_reply result;
  auto front = remote_front(sys, tls, ep, opts.connect_timeout, peer);
  if (!front) {
    result.down = std::move(front.error());
    return result;
  }
  result.front = std::move(*front);
  {
    caf::scoped_actor self{sys};
    self->request(result.front, opts.connect_timeout, caf::get_atom::value)
      .receive(
        [&](std::vector<caf::actor>& parts, record& xs) {
          result.partitions = std::move(parts);
          result.settings = std::move(xs);
        },
        [&](caf::error& x) {
          result.down = remote_error(peer, opts.connect_timeout, x);
        });
  }
  if (result.down) {
    result.front = nullptr;
    return result;
  }
  if (auto err = check_peer(opts, peer, result.partitions, result.settings))
    return err;
  return result;
}

} // namespace detail

using namespace detail;

caf::expected<uint16_t> instance::publish(uint16_t port,
                                          const std::string& host) {
  auto& st = *state_;
  if (auto err = refuse_on_worker(st, "publish"))
    return err;
  std::lock_guard<std::mutex> guard{st.lifecycle};
  auto cache = st.load();
  if (!cache)
    return make_error(errc::not_started,
                      "publish needs a running cache (start)");
  if (cache->remote)
    return make_error(errc::invalid_option,
                      "publish: this instance streams to the cache node at "
                        + cache->peer + "; publish that one");
  if (auto err = need_middleman(st.sys, "publish"))
    return err;
  if (st.published_port != 0)
    return make_error(errc::already_started,
                      "the cache is already published on port "
                        + std::to_string(st.published_port));
  auto tls = link_security(st.sys, "publish");
  if (!tls)
    return std::move(tls.error());
  if (auto err = check_listen(*tls, cache->opts.allow_insecure, host))
    return err;
  // A node of a configured cluster knows its place before any peer can ask.
  std::shared_ptr<const cluster_place> place;
  if (!cache->opts.remote.empty()) {
    if (port == 0)
      return make_error(errc::invalid_option,
                        "publish: a cache node of the cluster in remote = \""
                          + cache->opts.remote
                          + "\" listens on its port from that list, not on "
                            "one the OS picks (port 0)");
    auto found = cluster_place::find(cache->opts.remote, host, port,
                                     cache->partitions.size(),
                                     cache->opts.replicas);
    if (!found)
      return std::move(found.error());
    place = std::make_shared<const cluster_place>(std::move(*found));
  }
  std::atomic_store(&st.place, place);
  // Before the port opens: only producers of that place write here.
  st.guards->placed.reset(place != nullptr);
  auto addr = host.empty() ? nullptr : host.c_str();
  // SO_REUSEADDR: a node restarted on its port (e.g. to rejoin its cluster)
  // must not wait for the links of its previous run to leave TIME_WAIT; a
  // port another process listens on stays refused.
  auto res = *tls ? caf::openssl::publish(st.front, port, addr, true)
                  : st.sys.middleman().publish(st.front, port, addr, true);
  if (!res) {
    std::atomic_store(&st.place, std::shared_ptr<const cluster_place>{});
    st.guards->placed.reset(false);
    return make_error(errc::invalid_option,
                      "cannot listen on " + host + ":" + std::to_string(port)
                        + ": " + render(res.error()));
  }
  st.published_port = *res;
  return *res;
}

caf::error instance::connect() {
  auto opts = options::from(system().config());
  if (!opts)
    return std::move(opts.error());
  return connect(*opts);
}

caf::error instance::connect(const options& opts) {
  auto& st = *state_;
  if (auto err = refuse_on_worker(st, "connect"))
    return err;
  std::lock_guard<std::mutex> guard{st.lifecycle};
  auto& sys = st.sys;
  if (st.load() != nullptr)
    return make_error(errc::already_started, "supercache is running");
  if (auto err = opts.validate())
    return err;
  if (opts.remote.empty())
    return make_error(errc::invalid_option,
                      "connect needs supercache.remote = \"HOST:PORT\"");
  auto eps = parse_endpoints(opts.remote);
  if (!eps)
    return std::move(eps.error());
  if (opts.replicas > eps->size())
    return make_error(errc::invalid_option,
                      "replicas = " + std::to_string(opts.replicas)
                        + " needs at least as many cache nodes in remote = \""
                        + opts.remote + "\"");
  if (opts.replicas > 1 && opts.overflow == overflow_policy::drop_oldest)
    return make_error(errc::invalid_option,
                      "overflow = \"drop-oldest\" with replicas = "
                        + std::to_string(opts.replicas)
                        + ": dropping from one copy of a partition and not "
                          "the other would make replicas differ; use "
                          "\"block\" or \"reject\"");
  if (auto err = need_middleman(sys, "connect"))
    return err;
  auto tls = link_security(sys, "connect");
  if (!tls)
    return std::move(tls.error());
  auto view = std::make_shared<cache_view>();
  view->opts = opts;
  view->peer = opts.remote;
  if (opts.replicas > 1)
    view->rejoined = std::make_shared<rejoined_copies>();
  std::vector<node_reply> replies;
  for (auto& ep : *eps) {
    // Each node named as written in the list.
    auto reply = ask_node_at(sys, *tls, opts, ep, ep.text);
    if (!reply)
      return std::move(reply.error()); // it answered, and not as it should
    // A single node must answer; in a cluster, partitions whose node does
    // not go on with their other copies (assemble_cluster).
    if (reply->down && eps->size() == 1)
      return std::move(reply->down);
    view->nodes.push_back(ep.text);
    replies.push_back(std::move(*reply));
  }
  if (auto err = assemble_cluster(sys, *view, replies))
    return err;
  auto& settings = std::find_if(replies.begin(), replies.end(),
                                [](auto& x) { return !x.down; })
                     ->settings;
  auto workers = std::max<size_t>(sys.scheduler().num_workers(), 1);
  if (view->opts.buffers == 0)
    view->opts.buffers = std::min(workers, max_registered_id);
  view->opts.partitions = view->partitions.size();
  if (settings.value("table-type", "set") == "bag")
    view->opts.type = table_type::bag;
  else
    view->opts.type = table_type::set;
  view->layout = view->opts.layout();
  st.call_timeout = opts.call_timeout;
  st.store(view);
  st.lost_stored = 0;
  st.peer = view->peer;
  if (auto err2 = start_buffers(state_, view->opts.buffers)) {
    st.store(nullptr);
    st.peer.clear();
    return err2;
  }
  return caf::none;
}

} // namespace supercache
