// `connect` against a listener that accepts and never answers: CAF 0.17's
// remote_actor waits forever there (no heartbeats, CAF's default); ours
// gives up after connect-timeout and leaves nothing behind that keeps the
// actor system from shutting down.

#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/openssl/manager.hpp>

#include <doctest/doctest.h>

#include <supercache/supercache.hpp>

#include "tests/pki/pki.hpp"

using namespace std::chrono_literals;

namespace {

/// A loopback TCP listener whose connections the kernel accepts and nobody
/// ever reads or writes.
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
    port = ntohs(addr.sin_port);
  }
  ~silent_listener() {
    close(fd);
  }
  int fd;
  uint16_t port;
};

/// A config and its actor system, shared with the thread that uses them so
/// that a `connect` that never returns (the failure this test looks for)
/// cannot outlive them.
struct system_box {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  std::promise<caf::error> connected;
  std::promise<void> shut_down;
};

} // namespace

TEST_CASE("connect to a listener that never answers fails with unreachable "
          "after connect-timeout, in plaintext and with TLS, and the actor "
          "system then shuts down") {
  silent_listener listener;
  for (bool tls : {false, true}) {
    CAPTURE(tls);
    auto box = std::make_shared<system_box>();
    supercache::configure(box->cfg);
    box->cfg.load<caf::io::middleman>();
    box->cfg.set("logger.verbosity", caf::atom("quiet"));
    if (tls) {
      auto& dir = supercache::testing::pki();
      box->cfg.load<caf::openssl::manager>();
      box->cfg.set("openssl.certificate", dir.file("producer.pem"));
      box->cfg.set("openssl.key", dir.file("producer.key"));
      box->cfg.set("openssl.cafile", dir.file("ca.pem"));
    }
    auto connect_result = box->connected.get_future();
    auto shutdown_result = box->shut_down.get_future();
    // The system lives on the worker thread only: CAF 0.17's ~actor_system
    // waits for every thread that used it (constructed it, or made a
    // scoped_actor there) to let go of its logger.
    std::thread worker{[box, port = listener.port] {
      box->sys = std::make_unique<caf::actor_system>(box->cfg);
      {
        supercache::instance inst{*box->sys};
        supercache::options opts;
        opts.remote = "127.0.0.1:" + std::to_string(port);
        opts.buffers = 1;
        opts.connect_timeout = 1s;
        box->connected.set_value(inst.connect(opts));
      }
      box->sys.reset();
      box->shut_down.set_value();
    }};
    if (connect_result.wait_for(20s) != std::future_status::ready) {
      worker.detach(); // It keeps `box` alive.
      FAIL("connect still waits after 20 s");
    }
    auto err = connect_result.get();
    CHECK_EQ(err, supercache::errc::unreachable);
    auto text = supercache::render(err);
    CHECK_MESSAGE(text.find("127.0.0.1:" + std::to_string(listener.port))
                    != std::string::npos,
                  text);
    CHECK_MESSAGE(text.find("within 1s (connect-timeout)") != std::string::npos,
                  text);
    if (shutdown_result.wait_for(20s) != std::future_status::ready) {
      worker.detach();
      FAIL("the actor system does not shut down after 20 s");
    }
    worker.join();
  }
}
