#include "config/tls.hpp"

#include <cstring>
#include <memory>
#include <vector>

#include <arpa/inet.h>
#include <dlfcn.h>
#include <netinet/in.h>

#include <caf/actor_cast.hpp>
#include <caf/io/middleman.hpp>
#include <caf/openssl/manager.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <supercache/errc.hpp>

namespace supercache::detail {

namespace {

/// Returns OpenSSL's queued errors as one line and clears the queue.
std::string openssl_reason() {
  std::string result;
  while (auto code = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof(buf));
    if (!result.empty())
      result += "; ";
    result += buf;
  }
  return result.empty() ? "unknown OpenSSL error" : result;
}

/// Hands the passphrase to OpenSSL; an empty one makes an encrypted key fail
/// to load instead of prompting on the terminal.
int passphrase_cb(char* buf, int size, int, void* user) {
  auto& passphrase = *static_cast<const std::string*>(user);
  if (size <= 0 || passphrase.size() >= static_cast<size_t>(size))
    return 0;
  memcpy(buf, passphrase.data(), passphrase.size());
  return static_cast<int>(passphrase.size());
}

caf::error file_error(const char* key, const std::string& path,
                      const char* what) {
  return make_error(errc::invalid_option, std::string{"openssl."} + key
                                            + " = \"" + path + "\": " + what
                                            + ": " + openssl_reason());
}

} // namespace

caf::expected<bool> tls_enabled(const caf::actor_system_config& cfg) {
  std::vector<const char*> missing;
  if (cfg.openssl_certificate.empty())
    missing.push_back("openssl.certificate");
  if (cfg.openssl_key.empty())
    missing.push_back("openssl.key");
  if (cfg.openssl_cafile.empty() && cfg.openssl_capath.empty())
    missing.push_back("openssl.cafile (or openssl.capath)");
  if (missing.empty())
    return true;
  if (missing.size() == 3 && cfg.openssl_passphrase.empty())
    return false;
  std::string names;
  for (auto name : missing) {
    if (!names.empty())
      names += ", ";
    names += name;
  }
  return make_error(errc::invalid_option,
                    "TLS needs openssl.certificate, openssl.key and "
                    "openssl.cafile (or openssl.capath) together; missing: "
                      + names
                      + " (set all of them for TLS, or none for plaintext)");
}

caf::error check_tls_files(const caf::actor_system_config& cfg) {
  ERR_clear_error();
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx{
    SSL_CTX_new(TLS_method()), SSL_CTX_free};
  if (!ctx)
    return make_error(errc::invalid_option,
                      "cannot create an OpenSSL context: " + openssl_reason());
  auto passphrase = cfg.openssl_passphrase;
  SSL_CTX_set_default_passwd_cb(ctx.get(), passphrase_cb);
  SSL_CTX_set_default_passwd_cb_userdata(ctx.get(), &passphrase);
  if (SSL_CTX_use_certificate_chain_file(ctx.get(),
                                         cfg.openssl_certificate.c_str())
      != 1)
    return file_error("certificate", cfg.openssl_certificate,
                      "cannot load the certificate");
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), cfg.openssl_key.c_str(),
                                  SSL_FILETYPE_PEM)
      != 1)
    return file_error("key", cfg.openssl_key,
                      "cannot load the private key (a wrong file, a key "
                      "that does not belong to openssl.certificate, or an "
                      "encrypted key without the right openssl.passphrase)");
  if (SSL_CTX_check_private_key(ctx.get()) != 1)
    return file_error("key", cfg.openssl_key,
                      "does not belong to the certificate");
  auto cafile = cfg.openssl_cafile.empty() ? nullptr
                                           : cfg.openssl_cafile.c_str();
  auto capath = cfg.openssl_capath.empty() ? nullptr
                                           : cfg.openssl_capath.c_str();
  if (SSL_CTX_load_verify_locations(ctx.get(), cafile, capath) != 1)
    return file_error(cafile ? "cafile" : "capath",
                      cafile ? cfg.openssl_cafile : cfg.openssl_capath,
                      "cannot load the trusted CA certificates");
  return caf::none;
}

bool is_loopback(const std::string& host) {
  if (strcasecmp(host.c_str(), "localhost") == 0)
    return true;
  in_addr v4;
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1)
    return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6;
  if (inet_pton(AF_INET6, host.c_str(), &v6) == 1)
    return memcmp(&v6, &in6addr_loopback, sizeof(v6)) == 0;
  return false;
}

caf::error check_listen(bool tls, bool allow_insecure,
                        const std::string& host) {
  if (tls || allow_insecure || is_loopback(host))
    return caf::none;
  auto where = host.empty() ? std::string{"every interface"}
                            : "\"" + host + "\"";
  return make_error(errc::invalid_option,
                    "refusing to listen on " + where
                      + " without TLS: anyone who reaches the port could "
                        "read and overwrite the cache. Set openssl.certificate, "
                        "openssl.key and openssl.cafile, listen on 127.0.0.1, "
                        "or set supercache.allow-insecure = true");
}

caf::expected<bool> link_security(caf::actor_system& sys, const char* what) {
  auto& cfg = sys.config();
  auto tls = tls_enabled(cfg);
  if (!tls || !*tls)
    return tls;
  if (!sys.has_openssl_manager())
    return make_error(errc::invalid_option,
                      std::string{what}
                        + ": the openssl.* keys turn TLS on, but the actor "
                          "system has no caf::openssl::manager: call "
                          "cfg.load<caf::openssl::manager>() (after "
                          "cfg.load<caf::io::middleman>()) before "
                          "constructing it");
  if (auto err = check_tls_files(cfg))
    return err;
  return true;
}

caf::expected<caf::actor> link_opener(caf::actor_system& sys,
                                      const char* what) {
  if (!sys.has_middleman())
    return make_error(errc::invalid_option,
                      std::string{what} + " needs CAF's network layer");
  auto tls = link_security(sys, what);
  if (!tls)
    return std::move(tls.error());
  if (*tls)
    return caf::actor_cast<caf::actor>(sys.openssl_manager().actor_handle());
  return caf::actor_cast<caf::actor>(sys.middleman().actor_handle());
}

} // namespace supercache::detail

// -- OpenSSL's error queue ----------------------------------------------------

// CAF 0.17's openssl module (caf/openssl/session.cpp) reads the outcome of
// each SSL_read, SSL_write, SSL_connect and SSL_accept with SSL_get_error and
// never clears OpenSSL's per-thread error queue, which SSL_get_error requires
// to be empty before the call. One peer closing its link without a TLS
// close_notify (a producer exiting, a process killed, a hostile peer) leaves
// an error in the queue of the I/O thread, and the next read of another link
// on that thread that would block is taken for a fatal error: that link is
// closed. These definitions take the place of OpenSSL's for the whole
// program (the executable's symbols come first) and clear the queue before
// calling OpenSSL's own, as its manual asks of every caller.

namespace {

/// Returns OpenSSL's definition of `name` (the next one after ours).
template <class F>
F openssl_function(const char* name) {
  return reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
}

} // namespace

extern "C" {

int SSL_read(SSL* ssl, void* buf, int num) {
  static auto next = openssl_function<int (*)(SSL*, void*, int)>("SSL_read");
  ERR_clear_error();
  return next(ssl, buf, num);
}

int SSL_write(SSL* ssl, const void* buf, int num) {
  static auto next
    = openssl_function<int (*)(SSL*, const void*, int)>("SSL_write");
  ERR_clear_error();
  return next(ssl, buf, num);
}

int SSL_connect(SSL* ssl) {
  static auto next = openssl_function<int (*)(SSL*)>("SSL_connect");
  ERR_clear_error();
  return next(ssl);
}

int SSL_accept(SSL* ssl) {
  static auto next = openssl_function<int (*)(SSL*)>("SSL_accept");
  ERR_clear_error();
  return next(ssl);
}

} // extern "C"
