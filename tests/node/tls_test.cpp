// TLS between nodes (CAF's OpenSSL module, mutual certificates): cache and
// producer nodes as separate processes on loopback, with a PKI that
// tests/pki/make-pki.sh makes at test time; and the deadline of `connect`
// against a listener that never answers.

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/openssl/manager.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/sec.hpp>

#include <doctest/doctest.h>

#include <supercache/supercache.hpp>
#include "tests/pki/pki.hpp"
#include "tests/process.hpp"

using namespace std::chrono_literals;
using namespace supercache::testing;

namespace {

namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

/// Reads the `listening` event of a cache node; returns its port.
std::string listening_port(process& node, bool tls) {
  auto listening = event(node.read_line(30s));
  REQUIRE_MESSAGE(listening["event"] == "listening", node.err());
  CHECK_EQ(listening["tls"], tls);
  return std::to_string(listening["port"].get<uint16_t>());
}

/// Returns `records` NDJSON records over `keys` keys.
std::string keyed_records(int records, int keys) {
  std::string result;
  for (int i = 0; i < records; ++i)
    result += "[" + std::to_string(i % keys) + ",\"v\"," + std::to_string(i)
              + "]\n";
  return result;
}

/// Runs a producer node with `extra` arguments against `port`; returns it
/// once it exited (fails the test if it runs for more than `limit`).
struct producer_run {
  int status = -1;
  std::string out;
  std::string err;
  clock_type::duration took;
};

producer_run run_producer(const std::string& port,
                          std::vector<std::string> extra,
                          const std::string& input,
                          clock_type::duration limit = 60s) {
  auto start = clock_type::now();
  process producer{node_args({"--supercache.role=\"producer\"",
                              "--supercache.remote=\"127.0.0.1:" + port
                                + "\"",
                              "--supercache.input=" + in_quotes(input)},
                             std::move(extra))};
  auto status = producer.wait_for_exit(limit);
  REQUIRE_MESSAGE(status, "the producer hangs: " << producer.err());
  return {*status, producer.out(), producer.err(), clock_type::now() - start};
}

/// A loopback TCP listener that accepts connections (the kernel does) and
/// never reads nor writes a byte.
struct silent_listener {
  silent_listener() {
    fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    listen(fd, 16);
    socklen_t len = sizeof(addr);
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    port = std::to_string(ntohs(addr.sin_port));
  }
  ~silent_listener() {
    close(fd);
  }
  int fd;
  std::string port;
};

bool contains(const std::string& text, const std::string& what) {
  return text.find(what) != std::string::npos;
}

} // namespace

TEST_CASE("a TLS producer node streams every record to a TLS cache node over "
          "loopback: exactly the distinct keys are stored") {
  constexpr int records = 20'000;
  constexpr int keys = 3'000;
  input_file input{keyed_records(records, keys)};
  process cache{node_args({"--supercache.role=\"cache\""}, tls_args("cache"))};
  auto port = listening_port(cache, true);
  // The producer's key is encrypted: openssl.passphrase unlocks it.
  auto& dir = pki();
  auto run = run_producer(
    port,
    {"--openssl.certificate=" + in_quotes(dir.file("producer.pem")),
     "--openssl.key=" + in_quotes(dir.file("producer-enc.key")),
     "--openssl.passphrase=\"secret\"",
     "--openssl.cafile=" + in_quotes(dir.file("ca.pem"))},
    input.path.string());
  REQUIRE_MESSAGE(run.status == 0, run.err);
  auto done = event(run.out.substr(0, run.out.find('\n')));
  CHECK_EQ(done["accepted"], records);
  CHECK_EQ(done["stored"], keys);
  CHECK_EQ(done["lost"], 0);
  cache.kill(SIGTERM);
  REQUIRE_EQ(cache.wait_for_exit(30s), 0);
  auto stopped = event(cache.read_line(1s));
  CHECK_EQ(stopped["stored"], keys);
}

TEST_CASE("a TLS cache node refuses within seconds a plaintext producer, a "
          "peer without a certificate and one with a stranger's certificate, "
          "and keeps serving valid producers") {
  input_file input{keyed_records(1'000, 1'000)};
  process cache{node_args({"--supercache.role=\"cache\""}, tls_args("cache"))};
  auto port = listening_port(cache, true);
  auto refused = [&](std::string who, std::vector<std::string> args) {
    CAPTURE(who);
    auto run = run_producer(port, std::move(args), input.path.string());
    CHECK_EQ(run.status, 1);
    CHECK_LT(run.took, 10s);
    CHECK_MESSAGE(contains(run.err, "supercache::unreachable: cannot connect "
                                    "to the cache node at 127.0.0.1:"
                                      + port),
                  run.err);
    CHECK_MESSAGE(!contains(run.out, "\"event\":\"done\""), run.out);
    CHECK_MESSAGE(contains(run.err, "handshake"), run.err);
  };
  refused("plaintext", {});
  refused("stranger", tls_args("stranger", "ca"));
  {
    // A CAF peer without a certificate: CAF's anonymous TLS (what the
    // openssl module does without keys).
    caf::actor_system_config cfg;
    cfg.load<caf::io::middleman>();
    cfg.load<caf::openssl::manager>();
    cfg.set("logger.verbosity", caf::atom("quiet"));
    caf::actor_system sys{cfg};
    caf::scoped_actor self{sys};
    auto start = clock_type::now();
    bool connected = false;
    self
      ->request(sys.openssl_manager().actor_handle(), 10s,
                caf::connect_atom::value, std::string{"127.0.0.1"},
                static_cast<uint16_t>(std::stoi(port)))
      .receive([&](caf::node_id&, caf::strong_actor_ptr&,
                   std::set<std::string>&) { connected = true; },
               [&](caf::error& err) {
                 MESSAGE("no certificate: " << sys.render(err));
                 CHECK_NE(err, caf::sec::request_timeout);
               });
    CHECK_FALSE(connected);
    CHECK_LT(clock_type::now() - start, 10s);
  }
  // A producer that trusts only the stranger CA refuses the cache node.
  refused("distrusting", tls_args("producer", "stranger-ca"));
  // The node is alive and serves a valid producer exactly.
  auto run = run_producer(port, tls_args("producer"), input.path.string());
  REQUIRE_MESSAGE(run.status == 0, run.err);
  auto done = event(run.out.substr(0, run.out.find('\n')));
  CHECK_EQ(done["stored"], 1'000);
  cache.kill(SIGTERM);
  REQUIRE_EQ(cache.wait_for_exit(30s), 0);
}

TEST_CASE("partial or unreadable TLS settings make the node exit with status "
          "2 naming what is missing or wrong") {
  auto& dir = pki();
  auto cert = "--openssl.certificate=" + in_quotes(dir.file("cache.pem"));
  auto key = "--openssl.key=" + in_quotes(dir.file("cache.key"));
  auto ca = "--openssl.cafile=" + in_quotes(dir.file("ca.pem"));
  struct {
    std::vector<std::string> args;
    const char* expected;
  } cases[] = {
    {{cert, key}, "missing: openssl.cafile (or openssl.capath)"},
    {{ca}, "missing: openssl.certificate, openssl.key"},
    {{"--openssl.passphrase=\"x\""},
     "missing: openssl.certificate, openssl.key, openssl.cafile"},
    {{cert, ca, "--openssl.key=\"/nonexistent/node.key\""},
     "openssl.key = \"/nonexistent/node.key\": cannot load the private key"},
    {{cert, ca,
      "--openssl.key=" + in_quotes(dir.file("producer-enc.key")),
      "--openssl.passphrase=\"wrong\""},
     "cannot load the private key"},
    {{"--openssl.certificate=" + in_quotes(dir.file("producer.pem")), key,
      ca},
     "key values mismatch"},
  };
  // 1 is a closed port: the original code fails there with status 1.
  for (std::string role : {"cache", "producer"})
    for (auto& c : cases) {
      CAPTURE(role);
      std::string expected = c.expected;
      CAPTURE(expected);
      process node{node_args({"--supercache.role=" + in_quotes(role),
                              "--supercache.remote=\"127.0.0.1:1\""},
                             c.args)};
      auto status = node.wait_for_exit(10s);
      REQUIRE_MESSAGE(status, "the node runs");
      CHECK_EQ(*status, 2);
      CHECK_MESSAGE(contains(node.err(), "supercache-node: error: "
                                         "configuration: "
                                         "supercache::invalid_option"),
                    node.err());
      CHECK_MESSAGE(contains(node.err(), c.expected), node.err());
      CHECK_EQ(node.out(), "");
    }
}

TEST_CASE("a cache node without TLS listens on loopback only unless "
          "allow-insecure is set") {
  for (std::string host : {"0.0.0.0", ""}) {
    CAPTURE(host);
    process node{node_args({"--supercache.role=\"cache\"",
                            "--supercache.host=" + in_quotes(host)})};
    auto status = node.wait_for_exit(10s);
    REQUIRE_MESSAGE(status, "the node listens");
    CHECK_EQ(*status, 2);
    CHECK_MESSAGE(contains(node.err(), "without TLS"), node.err());
    CHECK_MESSAGE(contains(node.err(), "supercache.allow-insecure"),
                  node.err());
  }
  process insecure{node_args({"--supercache.role=\"cache\"",
                              "--supercache.host=\"0.0.0.0\"",
                              "--supercache.allow-insecure"})};
  listening_port(insecure, false);
  process tls{node_args({"--supercache.role=\"cache\"",
                         "--supercache.host=\"0.0.0.0\""},
                        tls_args("cache"))};
  listening_port(tls, true);
  for (auto node : {&insecure, &tls}) {
    node->kill(SIGTERM);
    CHECK_EQ(node->wait_for_exit(30s), 0);
  }
}

TEST_CASE("a producer whose cache node never answers fails within "
          "connect-timeout, in plaintext and with TLS") {
  silent_listener listener;
  input_file input{keyed_records(10, 10)};
  for (bool tls : {false, true}) {
    CAPTURE(tls);
    // No heartbeats (CAF's default): the shipped config's 1 s heartbeat
    // would drop the silent connection by itself.
    std::vector<std::string> args{"--supercache.connect-timeout=1s",
                                  "--middleman.heartbeat-interval=0s"};
    if (tls)
      for (auto& arg : tls_args("producer"))
        args.push_back(arg);
    auto run = run_producer(listener.port, args, input.path.string(), 20s);
    CHECK_EQ(run.status, 1);
    CHECK_MESSAGE(contains(run.err, "cannot connect to the cache node at "
                                    "127.0.0.1:"
                                      + listener.port),
                  run.err);
    CHECK_MESSAGE(contains(run.err, "within 1s (connect-timeout)"), run.err);
  }
}
