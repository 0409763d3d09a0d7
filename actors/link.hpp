#pragma once

/// Opening a link to a cache node from inside an actor: a take-back
/// (actors/buffer_takeback.hpp) and a rejoin (actors/front.hpp) both ask the
/// middleman actor (the openssl manager's with TLS) to connect.
///
/// CAF 0.17's BASP broker closes a connection whose peer it has not heard
/// from within `middleman.connection-timeout` when its heartbeat tick comes,
/// and fails the connect with `sec::connection_timeout`; on a loaded machine
/// a TLS handshake can be caught that way although the node is up (seen in
/// about 1 of 4 runs of the TLS cluster test with the cores busy). Such a
/// connect is tried again, a bounded number of times.

#include <set>
#include <string>

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/node_id.hpp>
#include <caf/sec.hpp>
#include <caf/timespan.hpp>

#include <supercache/options.hpp>

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

} // namespace supercache
