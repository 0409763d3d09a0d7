#pragma once

/// TLS on the links between nodes: whether CAF's `[openssl]` keys turn it on,
/// whether its files load, and on which hosts a cache may listen without it.
/// Used by `options::from`, `publish`, `connect` and supercache-node, so that
/// all of them decide the same way.
///
/// TLS is on when `openssl.certificate`, `openssl.key` and `openssl.cafile`
/// or `openssl.capath` are set, off when none of them (nor
/// `openssl.passphrase`) is. Anything in between is a configuration error:
/// CAF 0.17 would fall back to its anonymous cipher (no certificate, no
/// verification) when the key is missing, and abort the process when only
/// the CA is set.

#include <string>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/error.hpp>
#include <caf/expected.hpp>

namespace supercache::detail {

/// Returns whether the links configured by `cfg` use TLS, or
/// `errc::invalid_option` naming the missing `openssl.*` keys of a partial
/// setting.
caf::expected<bool> tls_enabled(const caf::actor_system_config& cfg);

/// Loads the certificate, the key (with `openssl.passphrase`) and the CA of
/// `cfg` into a scratch OpenSSL context, as CAF's sessions will; returns
/// `errc::invalid_option` naming the key, its file and OpenSSL's reason if
/// one does not load or the key does not belong to the certificate. (CAF
/// throws from its network thread instead, which terminates the process.)
caf::error check_tls_files(const caf::actor_system_config& cfg);

/// Returns whether `host` names the loopback interface: `localhost`, `::1` or
/// an IPv4 address in 127.0.0.0/8.
bool is_loopback(const std::string& host);

/// Returns none if a cache may listen on `host`: always with TLS, without it
/// only on loopback unless `allow_insecure`; `errc::invalid_option` saying
/// how to fix it otherwise. An empty `host` means every interface.
caf::error check_listen(bool tls, bool allow_insecure,
                        const std::string& host);

/// Returns whether the links of `sys` use TLS, after checking its settings
/// and files; `errc::invalid_option` if they are partial or do not load, or
/// if TLS is on but `sys` has no `caf::openssl::manager`. `what` names the
/// call in the error (`publish`, `connect`).
caf::expected<bool> link_security(caf::actor_system& sys, const char* what);

/// Returns the actor of `sys` that opens links to other nodes from inside
/// an actor (`connect_atom`): CAF's middleman actor, or the openssl
/// manager's with TLS; an error naming `what` without a middleman or if
/// `link_security` fails.
caf::expected<caf::actor> link_opener(caf::actor_system& sys,
                                      const char* what);

} // namespace supercache::detail
