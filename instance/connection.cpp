// Connecting to a cache node's front with a deadline (CAF's own
// `remote_actor` has none).

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <set>

#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <caf/deep_to_string.hpp>
#include <caf/io/middleman.hpp>
#include <caf/openssl/manager.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/sec.hpp>

#include <supercache/supercache.hpp>

#include "instance/state.hpp"

namespace supercache::detail {

namespace {

/// Returns whether `peer` is `port` at one of the addresses in `addrs`, or
/// at any address if `addrs` is null (a host name, not resolved here).
bool same_peer(const sockaddr_storage& peer, const addrinfo* addrs,
               uint16_t port) {
  if (addrs == nullptr) {
    if (peer.ss_family == AF_INET)
      return reinterpret_cast<const sockaddr_in&>(peer).sin_port
             == htons(port);
    if (peer.ss_family == AF_INET6)
      return reinterpret_cast<const sockaddr_in6&>(peer).sin6_port
             == htons(port);
    return false;
  }
  for (auto ai = addrs; ai != nullptr; ai = ai->ai_next) {
    if (ai->ai_family != peer.ss_family)
      continue;
    if (peer.ss_family == AF_INET) {
      auto& x = reinterpret_cast<const sockaddr_in&>(peer);
      auto& y = *reinterpret_cast<const sockaddr_in*>(ai->ai_addr);
      if (x.sin_port == htons(port) && x.sin_addr.s_addr == y.sin_addr.s_addr)
        return true;
    } else if (peer.ss_family == AF_INET6) {
      auto& x = reinterpret_cast<const sockaddr_in6&>(peer);
      auto& y = *reinterpret_cast<const sockaddr_in6*>(ai->ai_addr);
      if (x.sin6_port == htons(port)
          && memcmp(&x.sin6_addr, &y.sin6_addr, sizeof(in6_addr)) == 0)
        return true;
    }
  }
  return false;
}

/// Returns the sockets of this process that are connected to `ep` (to its
/// port only if its host is a name: no DNS lookup, which has no deadline).
std::set<int> sockets_to(const endpoint& ep) {
  std::set<int> result;
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICHOST;
  addrinfo* addrs = nullptr;
  if (getaddrinfo(ep.host.c_str(), nullptr, &hints, &addrs) != 0)
    addrs = nullptr;
  std::error_code ec;
  for (auto& entry : std::filesystem::directory_iterator{"/proc/self/fd", ec}) {
    auto fd = std::atoi(entry.path().filename().c_str());
    sockaddr_storage peer{};
    socklen_t len = sizeof(peer);
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) == 0
        && same_peer(peer, addrs, ep.port))
      result.insert(fd);
  }
  if (addrs != nullptr)
    freeaddrinfo(addrs);
  return result;
}

} // namespace

/// Returns the actor published at `ep`, over TLS if `tls`, waiting at most
/// `timeout`; `errc::unreachable` naming `peer` otherwise.
///
/// CAF's own `remote_actor` (and `openssl::remote_actor`) asks the
/// middleman actor without a deadline and so waits forever for a host that
/// drops packets or a listener that never answers the handshake. This sends
/// the same request with `timeout`; once it expires nothing waits for the
/// answer any more (no thread is left behind), and the connection CAF
/// opened for it (a socket of this process connected to `ep` that was not
/// before the request) is shut down: CAF then closes it, its middleman
/// fails the request, and with TLS its multiplexer thread stops spinning in
/// the handshake (CAF 0.17 retries `SSL_connect` without waiting for data,
/// and `~actor_system` would wait for it as long as the peer keeps the
/// connection open). What is left: for a host that drops packets, CAF's
/// middleman actor stays blocked in `connect(2)` until the kernel gives up
/// (about 2 minutes; no socket is connected yet to shut down), which delays
/// further connects of this process.
caf::expected<caf::actor> remote_front(caf::actor_system& sys, bool tls,
                                       const endpoint& ep,
                                       caf::timespan timeout,
                                       const std::string& peer) {
  auto mm = tls ? sys.openssl_manager().actor_handle()
                : sys.middleman().actor_handle();
  auto failed = [&](std::string why) {
    return make_error(errc::unreachable, "cannot connect to the cache node at "
                                           + peer + ": " + std::move(why));
  };
  caf::expected<caf::actor> result{caf::actor{}};
  auto before = sockets_to(ep);
  caf::scoped_actor self{sys};
  self->request(mm, timeout, caf::connect_atom::value, ep.host, ep.port)
    .receive(
      [&](caf::node_id&, caf::strong_actor_ptr& ptr,
          std::set<std::string>& ifs) {
        if (!ptr)
          result = failed("no actor is published on that port");
        else if (!ifs.empty())
          result = failed("the actor published there is not a cache node");
        else
          result = caf::actor_cast<caf::actor>(std::move(ptr));
      },
      [&](caf::error& err) {
        if (err == caf::sec::request_timeout) {
          for (auto fd : sockets_to(ep))
            if (before.count(fd) == 0)
              shutdown(fd, SHUT_RDWR);
          result = failed(std::string{"no "} + (tls ? "TLS " : "")
                          + "connection within "
                          + caf::deep_to_string(timeout)
                          + " (connect-timeout)");
        } else if (tls && err == caf::sec::cannot_connect_to_node)
          // CAF 0.17 reports a TLS handshake refused early (under load) as
          // a failed connect: the two cannot be told apart here.
          result = failed(render(err)
                          + ": the connection or the TLS handshake failed "
                            "(is the node up? does it refuse our "
                            "certificate, or is its certificate not from "
                            "our CA?)");
        else if (err == caf::sec::disconnect_during_handshake)
          result = failed(render(err)
                          + (tls ? ": the TLS handshake failed (it refused "
                                   "our certificate, its certificate is not "
                                   "from our CA, or it does not use TLS)"
                                 : ": it closed the connection during the "
                                   "handshake (does it use TLS?)"));
        else
          result = failed(render(err));
      });
  return result;
}

} // namespace supercache::detail
