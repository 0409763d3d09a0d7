#include "actors/front.hpp"

#include <algorithm>
#include <memory>
#include <set>
#include <string>

#include <supercache/errc.hpp>
#include <supercache/options.hpp>
#include <supercache/supercache.hpp>

#include "actors/link.hpp"
#include "actors/messages.hpp"

namespace supercache {

namespace {

/// Sends `xs...` to every actor of `hdls` and answers `reply` with
/// `ok_atom` once all answered `ok_atom` (at once if there is none), or
/// with the first error.
template <class... Ts>
void ask_all(caf::event_based_actor* self,
             const std::vector<caf::actor>& hdls, caf::timespan timeout,
             caf::response_promise reply, const Ts&... xs) {
  auto left = std::make_shared<size_t>(0);
  auto rp = std::make_shared<caf::response_promise>(std::move(reply));
  for (auto& hdl : hdls)
    if (hdl)
      ++*left;
  if (*left == 0) {
    rp->deliver(caf::ok_atom::value);
    return;
  }
  for (auto& hdl : hdls)
    if (hdl)
      self->request(hdl, timeout, xs...)
        .then(
          [=](caf::ok_atom) {
            if (rp->pending() && --*left == 0)
              rp->deliver(caf::ok_atom::value);
          },
          [=](caf::error& err) {
            if (rp->pending())
              rp->deliver(std::move(err));
          });
}

/// Checks a cluster description's size.
caf::error check_description(const std::string& desc) {
  if (desc.empty() || desc.size() > max_cluster_description)
    return make_error(errc::invalid_option,
                      "a cluster description of " + std::to_string(desc.size())
                        + " bytes (1.."
                        + std::to_string(max_cluster_description) + ")");
  return caf::none;
}

/// Returns the node of the sender of the current message (none if
/// anonymous).
caf::node_id sender_node(caf::event_based_actor* self) {
  auto& x = self->current_sender();
  return x ? x->node() : caf::node_id{};
}

/// A rejoin in progress: the place to take, the node of each partition's
/// leader ("HOST:PORT", empty for a partition not on this node) and the
/// producer's node, which streams here itself.
struct rejoin_plan {
  std::shared_ptr<std::string> cluster;
  std::string desc;
  std::vector<std::string> leaders;
  caf::node_id direct;
};

/// Connects to each leader's node itself (so that the copy and the
/// forwards travel on a link of their own, not through the producer), asks
/// its front for its partitions and has each partition of this node copy
/// and follow its leader; calls `finish` once all did (with none), or with
/// the first error.
void rejoin_from(caf::event_based_actor* self, const front_hooks& hooks,
                 rejoin_plan plan, std::function<void(caf::error)> finish) {
  auto once = std::make_shared<std::function<void(caf::error)>>(
    std::move(finish));
  auto fail = [once](caf::error err) {
    if (*once) {
      auto f = std::move(*once);
      *once = nullptr;
      f(std::move(err));
    }
  };
  auto mm = hooks.connector ? hooks.connector()
                            : caf::expected<caf::actor>{make_error(
                              errc::invalid_option,
                              "rejoin needs CAF's network layer")};
  if (!mm)
    return fail(std::move(mm.error()));
  auto parts = hooks.partitions();
  auto plan_ptr = std::make_shared<rejoin_plan>(std::move(plan));
  auto left = std::make_shared<size_t>(0);
  std::vector<std::string> nodes;
  for (auto& x : plan_ptr->leaders)
    if (!x.empty()) {
      ++*left;
      if (std::find(nodes.begin(), nodes.end(), x) == nodes.end())
        nodes.push_back(x);
    }
  auto timeout = hooks.call_timeout;
  auto copied = [=](caf::ok_atom) {
    if (*once && --*left == 0) {
      if (plan_ptr->cluster->empty())
        *plan_ptr->cluster = plan_ptr->desc;
      fail(caf::none);
    }
  };
  for (auto& addr : nodes) {
    auto ep = parse_endpoint(addr);
    if (!ep)
      return fail(std::move(ep.error()));
    auto unreachable = [=](const std::string& what) {
      fail(make_error(errc::unreachable,
                      "rejoin: the cache node at " + addr + " " + what));
    };
    ask_front(
      self, *mm, timeout, *ep,
      [=](caf::node_id&, caf::actor&, std::vector<caf::actor>& theirs) {
        auto& leaders = plan_ptr->leaders;
        if (theirs.size() != parts.size())
          return unreachable("has " + std::to_string(theirs.size())
                             + " partitions, this node "
                             + std::to_string(parts.size()));
        for (size_t i = 0; i < parts.size(); ++i)
          if (leaders[i] == addr)
            self
              ->request(parts[i], 2 * timeout, rejoin_atom::value, theirs[i],
                        plan_ptr->direct, timeout)
              .then(copied, [=](caf::error& err) { fail(err); });
      },
      unreachable);
  }
}

/// Returns the node's configured place, or null.
std::shared_ptr<const cluster_place> configured(const front_hooks& hooks) {
  return hooks.place ? hooks.place() : nullptr;
}

/// Checks `desc` against the node's configured `place`, if any.
caf::error check_place(const cluster_place* place, const std::string& desc) {
  if (place == nullptr || desc == place->description())
    return caf::none;
  return make_error(errc::invalid_option,
                    "this cache node is configured as "
                      + place->description()
                      + " (supercache.remote); the producer places it as "
                      + desc
                      + ": give every node and producer the same remote "
                        "list, partitions and replicas");
}

} // namespace

caf::behavior front_actor(guarded_actor* self, front_hooks hooks) {
  self->count_into(hooks.guards);
  // The cluster the first producer placed this node in; empty before.
  auto cluster = std::make_shared<std::string>();
  // The requests of the rejoin in progress (none: no rejoin) and its place.
  auto rejoining = std::make_shared<std::vector<caf::response_promise>>();
  auto rejoin_desc = std::make_shared<std::string>();
  return {
    [=](cluster_atom) -> caf::result<std::string, uint64_t> {
      auto n = hooks.size();
      if (!n)
        return std::move(n.error());
      return {*cluster, static_cast<uint64_t>(*n)};
    },
    [=](cluster_atom, const std::string& desc) -> caf::result<caf::ok_atom> {
      if (auto err = check_description(desc))
        return err;
      if (auto err = check_place(configured(hooks).get(), desc))
        return err;
      if (cluster->empty())
        *cluster = desc;
      else if (*cluster != desc)
        return make_error(errc::invalid_option,
                          "this cache node is " + *cluster
                            + "; the producer places it as " + desc
                            + ": give every producer the same remote list, "
                              "partitions and replicas (or restart the "
                              "node)");
      // A node configured with its place takes writes only from producers
      // that stated it (core/placed_peers.hpp).
      if (configured(hooks))
        self->guards().placed.let_in(sender_node(self));
      // A partition that copied a leader (rejoin) has it forward nothing
      // of this producer, which streams here itself from now on.
      auto reply = self->make_response_promise();
      ask_all(self, hooks.partitions(), hooks.call_timeout, reply,
              follow_atom::value, sender_node(self));
      return reply;
    },
    [=](rejoin_atom, const std::string& desc,
        const std::vector<std::string>& leaders) -> caf::result<caf::ok_atom> {
      if (auto err = check_description(desc))
        return err;
      auto place = configured(hooks);
      if (auto err = check_place(place.get(), desc))
        return err;
      if (place)
        if (auto err = place->check_leaders(leaders))
          return err;
      if (!cluster->empty())
        return make_error(errc::invalid_option,
                          "this cache node is " + *cluster
                            + " already: only a node that restarted empty "
                              "copies its partitions (rejoin)");
      auto parts = hooks.partitions();
      if (leaders.size() != parts.size())
        return make_error(errc::invalid_option,
                          "a rejoin names " + std::to_string(leaders.size())
                            + " leaders for " + std::to_string(parts.size())
                            + " partitions");
      if (std::all_of(leaders.begin(), leaders.end(),
                      [](auto& x) { return x.empty(); })) {
        *cluster = desc; // no copy on this node: nothing to copy
        return caf::ok_atom::value;
      }
      // One rejoin at a time: a producer connecting meanwhile may have
      // picked other leaders, and a second copy over the first would give a
      // `bag` duplicates. It waits for the first one's answer instead.
      if (!rejoining->empty() && desc != *rejoin_desc)
        return make_error(errc::invalid_option,
                          "this cache node is rejoining as " + *rejoin_desc
                            + "; the producer places it as " + desc);
      auto rp = self->make_response_promise();
      if (!rejoining->empty()) {
        rejoining->push_back(rp);
        return rp;
      }
      *rejoin_desc = desc;
      rejoining->push_back(rp);
      rejoin_from(self, hooks, {cluster, desc, leaders, sender_node(self)},
                  [rejoining](caf::error err) {
                    auto waiting = std::move(*rejoining);
                    rejoining->clear();
                    for (auto& x : waiting)
                      if (err)
                        x.deliver(err);
                      else
                        x.deliver(caf::ok_atom::value);
                  });
      return rp;
    },
    [=](caf::get_atom) {
      auto settings = hooks.settings();
      if (auto place = configured(hooks))
        settings["place"] = place->description();
      return caf::make_message(hooks.partitions(), std::move(settings));
    },
    [=](caf::flush_atom) -> caf::result<caf::ok_atom> {
      auto buffers = hooks.buffers();
      if (buffers.empty())
        return make_error(errc::not_started, "no buffers are running");
      auto reply = self->make_response_promise();
      ask_all(self, buffers, hooks.call_timeout, reply, caf::flush_atom::value);
      return reply;
    },
    [=](size_atom) -> caf::expected<uint64_t> {
      auto n = hooks.size();
      if (!n)
        return std::move(n.error());
      return static_cast<uint64_t>(*n);
    },
    // Not caf::result<record>: its brace-initialization would wrap the JSON
    // object into a one-element array.
    [=](stats_atom) -> caf::expected<record> { return hooks.stats(); },
  };
}

} // namespace supercache
