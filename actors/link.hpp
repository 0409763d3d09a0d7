#pragma once

/// Opening a link to a cache node from inside an actor and asking its front
/// for its partitions: a take-back (actors/buffer_takeback.hpp) and a rejoin
/// (actors/front.hpp) both do it through the middleman actor (the openssl
/// manager's with TLS).
///
/// CAF 0.17's BASP broker closes a connection whose peer it has not heard
/// from within `middleman.connection-timeout` when its heartbeat tick comes,
/// and fails the connect with `sec::connection_timeout`; on a loaded machine
/// a TLS handshake can be caught that way although the node is up (seen in
/// about 1 of 4 runs of the TLS cluster test with the cores busy). Such a
/// connect is tried again, a bounded number of times.

#include <set>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_cast.hpp>
#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/node_id.hpp>
#include <caf/sec.hpp>
#include <caf/timespan.hpp>

#include <supercache/errc.hpp>
#include <supercache/options.hpp>
#include <supercache/record.hpp>

namespace supercache {

/// Connects attempts after the first one that `open_link` makes at most
/// when CAF closed the new link during its handshake.
constexpr int link_retries = 3;

/// Asks `connector` (deadline `timeout` per attempt) to connect to `ep`,
/// again up to `retries` times after `sec::connection_timeout`; calls
/// `on_link(node_id&, strong_actor_ptr&)` with the answer, or `on_error`
/// with the last error.
template <class Self, class OnLink, class OnError>
void open_link(Self* self, const caf::actor& connector, caf::timespan timeout,
               const endpoint& ep, OnLink on_link, OnError on_error,
               int retries = link_retries) {
  self->request(connector, timeout, caf::connect_atom::value, ep.host, ep.port)
    .then(
      [=](caf::node_id& nid, caf::strong_actor_ptr& ptr,
          std::set<std::string>&) mutable { on_link(nid, ptr); },
      [=](caf::error& err) mutable {
        if (retries > 0 && err == caf::sec::connection_timeout)
          return open_link(self, connector, timeout, ep, on_link, on_error,
                           retries - 1);
        on_error(err);
      });
}

/// Opens a link to the cache node at `ep` (as `open_link`) and asks its
/// front for its partitions (deadline `timeout` each): calls
/// `on_front(node_id&, caf::actor& front, std::vector<caf::actor>& parts)`,
/// or `on_miss(std::string what)` with what went wrong, worded to follow
/// the node's address ("cannot be reached: ...", "publishes no actor",
/// "did not answer: ...").
template <class Self, class OnFront, class OnMiss>
void ask_front(Self* self, const caf::actor& connector, caf::timespan timeout,
               const endpoint& ep, OnFront on_front, OnMiss on_miss) {
  open_link(
    self, connector, timeout, ep,
    [=](caf::node_id& nid, caf::strong_actor_ptr& ptr) mutable {
      if (!ptr)
        return on_miss(std::string{"publishes no actor"});
      auto front = caf::actor_cast<caf::actor>(ptr);
      self->request(front, timeout, caf::get_atom::value)
        .then(
          [=](std::vector<caf::actor>& parts, record&) mutable {
            on_front(nid, front, parts);
          },
          [=](caf::error& err) mutable {
            on_miss("did not answer: " + render(err));
          });
    },
    [=](caf::error& err) mutable {
      on_miss("cannot be reached: " + render(err));
    });
}

} // namespace supercache
