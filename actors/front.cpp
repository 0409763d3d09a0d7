#include "actors/front.hpp"

#include <memory>

#include <supercache/errc.hpp>

#include "actors/messages.hpp"

namespace supercache {

namespace {

/// Flushes `buffers` and answers `reply` once all of them did.
void flush_all(caf::event_based_actor* self,
               const std::vector<caf::actor>& buffers,
               caf::timespan timeout, caf::response_promise reply) {
  auto left = std::make_shared<size_t>(buffers.size());
  auto rp = std::make_shared<caf::response_promise>(std::move(reply));
  for (auto& hdl : buffers)
    self->request(hdl, timeout, caf::flush_atom::value)
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

} // namespace

caf::behavior front_actor(guarded_actor* self, front_hooks hooks) {
  self->count_into(hooks.guards);
  // The cluster the first producer placed this node in; empty before.
  auto cluster = std::make_shared<std::string>();
  return {
    [=](cluster_atom) -> caf::result<std::string, uint64_t> {
      auto n = hooks.size();
      if (!n)
        return std::move(n.error());
      return {*cluster, static_cast<uint64_t>(*n)};
    },
    [=](cluster_atom, const std::string& desc) -> caf::result<caf::ok_atom> {
      if (desc.empty() || desc.size() > max_cluster_description)
        return make_error(errc::invalid_option,
                          "a cluster description of "
                            + std::to_string(desc.size())
                            + " bytes (1.." + std::to_string(
                              max_cluster_description)
                            + ")");
      if (cluster->empty())
        *cluster = desc;
      else if (*cluster != desc)
        return make_error(errc::invalid_option,
                          "this cache node is " + *cluster
                            + "; the producer places it as " + desc
                            + ": give every producer the same remote list, "
                              "partitions and replicas (or restart the "
                              "node)");
      return caf::ok_atom::value;
    },
    [=](caf::get_atom) {
      return caf::make_message(hooks.partitions(), hooks.settings());
    },
    [=](caf::flush_atom) -> caf::result<caf::ok_atom> {
      auto buffers = hooks.buffers();
      if (buffers.empty())
        return make_error(errc::not_started, "no buffers are running");
      auto reply = self->make_response_promise();
      flush_all(self, buffers, hooks.call_timeout, reply);
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
