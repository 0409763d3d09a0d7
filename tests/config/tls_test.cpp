// Tests for config/tls and its use by `options::from`, `publish` and
// `connect`: when CAF's `[openssl]` keys turn TLS on, what a partial setting
// gives, and where a cache may listen without TLS.

#include "config/tls.hpp"

#include <string>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>

#include <doctest/doctest.h>

#include <supercache/errc.hpp>
#include <supercache/instance.hpp>
#include <supercache/supercache.hpp>

#include "tests/config/config_fixture.hpp"
#include "tests/pki/pki.hpp"

using namespace supercache::testing;
using supercache::errc;

namespace {

bool contains(const std::string& text, const std::string& what) {
  return text.find(what) != std::string::npos;
}

/// A config with the library's options and a middleman.
struct net_config : caf::actor_system_config {
  net_config() {
    supercache::configure(*this);
    load<caf::io::middleman>();
    set("logger.verbosity", caf::atom("quiet"));
    set("scheduler.max-threads", 2);
  }
};

} // namespace

TEST_CASE("options::from turns TLS on only with certificate, key and CA, and "
          "refuses a partial [openssl] setting naming the missing keys") {
  auto ok = load("[openssl]\ncertificate=\"c.pem\"\nkey=\"k.pem\"\n"
                 "cafile=\"ca.pem\"\n");
  REQUIRE_MESSAGE(ok, rendered(ok));
  check_invalid(load("[openssl]\ncertificate=\"c.pem\"\nkey=\"k.pem\"\n"),
                {"missing: openssl.cafile (or openssl.capath)"});
  check_invalid(load("[openssl]\ncapath=\"/etc/ssl/certs\"\n"),
                {"missing: openssl.certificate, openssl.key"});
  check_invalid(load("", {"--openssl.passphrase=\"x\""}),
                {"missing: openssl.certificate, openssl.key, "
                 "openssl.cafile"});
  options_config cfg;
  cfg.set("openssl.key", "k.pem");
  check_invalid(supercache::options::from(cfg),
                {"missing: openssl.certificate, openssl.cafile"});
}

TEST_CASE("loopback means 127.0.0.0/8, ::1 and localhost, and nothing else") {
  using supercache::detail::is_loopback;
  for (auto host : {"127.0.0.1", "127.1.2.3", "::1", "localhost", "LOCALHOST"})
    CHECK_MESSAGE(is_loopback(host), host);
  for (auto host : {"", "0.0.0.0", "::", "10.0.0.1", "128.0.0.1",
                    "127.0.0.1.example.com", "example.com"})
    CHECK_MESSAGE(!is_loopback(host), host);
}

TEST_CASE("publish without TLS refuses a host other than loopback unless "
          "allow-insecure is set") {
  net_config cfg;
  caf::actor_system sys{cfg};
  supercache::instance inst{sys}; // Stops itself, also after a failed check.
  supercache::options opts;
  opts.buffers = 1;
  opts.partitions = 1;
  REQUIRE_EQ(inst.start(opts), caf::none);
  for (std::string host : {"0.0.0.0", ""}) {
    CAPTURE(host);
    auto port = inst.publish(0, host);
    REQUIRE_FALSE(port);
    CHECK_EQ(port.error(), errc::invalid_option);
    auto text = supercache::render(port.error());
    CHECK_MESSAGE(contains(text, "without TLS"), text);
    CHECK_MESSAGE(contains(text, "supercache.allow-insecure = true"), text);
  }
  auto local = inst.publish(0, "127.0.0.1");
  CHECK_MESSAGE(local, supercache::render(local.error()));
  REQUIRE_EQ(inst.stop(), caf::none);
  opts.allow_insecure = true;
  REQUIRE_EQ(inst.start(opts), caf::none);
  auto any = inst.publish(0, "0.0.0.0");
  CHECK_MESSAGE(any, supercache::render(any.error()));
  REQUIRE_EQ(inst.stop(), caf::none);
}

TEST_CASE("with TLS keys set but no caf::openssl::manager loaded, publish and "
          "connect fail with invalid_option saying how to load it") {
  auto& dir = pki();
  net_config cfg;
  cfg.set("openssl.certificate", dir.file("cache.pem"));
  cfg.set("openssl.key", dir.file("cache.key"));
  cfg.set("openssl.cafile", dir.file("ca.pem"));
  caf::actor_system sys{cfg};
  supercache::instance inst{sys};
  supercache::options opts;
  opts.buffers = 1;
  opts.partitions = 1;
  REQUIRE_EQ(inst.start(opts), caf::none);
  auto port = inst.publish(0);
  REQUIRE_FALSE(port);
  CHECK_EQ(port.error(), errc::invalid_option);
  auto text = supercache::render(port.error());
  CHECK_MESSAGE(contains(text, "cfg.load<caf::openssl::manager>()"), text);
  REQUIRE_EQ(inst.stop(), caf::none);
  opts.remote = "127.0.0.1:1";
  auto err = inst.connect(opts);
  CHECK_EQ(err, errc::invalid_option);
  CHECK_MESSAGE(contains(supercache::render(err),
                         "cfg.load<caf::openssl::manager>()"),
                supercache::render(err));
}
