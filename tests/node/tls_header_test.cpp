// A raw BASP header announcing a 4 GiB payload against a TLS cache node
// (issue 10, table row "one raw 32-byte BASP header announcing 4 GiB"): a
// plaintext CAF 0.17 node allocates the announced size before reading a
// byte of it; a TLS node must refuse the bytes at the handshake.

#include <chrono>
#include <cstdint>
#include <string>

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include "tests/pki/pki.hpp"
#include "tests/process.hpp"

using namespace std::chrono_literals;
using namespace supercache::testing;

namespace {

/// Returns a 32-byte BASP header (CAF 0.17: operation, 2 bytes padding,
/// flags, payload length, operation data, source and destination actor;
/// big endian) that announces a payload of 2^32 - 1 bytes.
std::string huge_basp_header() {
  std::string result(32, '\0');
  result[0] = 0x01; // client handshake
  for (int i = 4; i < 8; ++i)
    result[i] = static_cast<char>(0xff);
  return result;
}

/// Sends `bytes` to 127.0.0.1:`port` over plain TCP and returns whether
/// the peer closed the connection within `timeout` (reading whatever it
/// sent before, e.g. a TLS alert).
bool closed_after_sending(uint16_t port, const std::string& bytes,
                          std::chrono::milliseconds timeout) {
  auto fd = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  REQUIRE_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)),
             0);
  REQUIRE_EQ(write(fd, bytes.data(), bytes.size()),
             static_cast<ssize_t>(bytes.size()));
  auto deadline = std::chrono::steady_clock::now() + timeout;
  bool closed = false;
  while (!closed && std::chrono::steady_clock::now() < deadline) {
    pollfd pfd{fd, POLLIN, 0};
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
    if (poll(&pfd, 1, static_cast<int>(std::max<int64_t>(0, left.count())))
        <= 0)
      break;
    char buf[512];
    closed = read(fd, buf, sizeof(buf)) <= 0;
  }
  close(fd);
  return closed;
}

} // namespace

TEST_CASE("a TLS cache node refuses a raw BASP header announcing 4 GiB at "
          "the handshake without allocating it, and serves a producer "
          "exactly afterwards") {
  process cache{node_args({"--supercache.role=\"cache\""}, tls_args("cache"))};
  auto port = listening_port(cache);
  auto header = huge_basp_header();
  for (int i = 0; i < 3; ++i)
    CHECK_MESSAGE(closed_after_sending(static_cast<uint16_t>(std::stoi(port)),
                                       header, 10'000ms),
                  "the node kept the connection open");
  // A plaintext node's peak grows by the announced 4 GiB; a generous
  // bound, far below that, is the guarantee.
  auto peak = cache.peak_rss_kib();
  REQUIRE(peak);
  MESSAGE("peak RSS after the headers: " << *peak << " KiB");
  CHECK_LT(*peak, 256 * 1024);
  // The node still serves a valid TLS producer, exactly.
  input_file input{records_chunk(1'000)};
  process producer{node_args({"--supercache.role=\"producer\"",
                              "--supercache.remote=\"127.0.0.1:" + port
                                + "\"",
                              "--supercache.input=" + in_quotes(input.path.string())},
                             tls_args("producer"))};
  auto status = producer.wait_for_exit(60s);
  REQUIRE_MESSAGE(status, "the producer hangs");
  REQUIRE_MESSAGE(*status == 0, producer.err());
  auto done = event(producer.read_line(1s));
  CHECK_EQ(done["accepted"], 1'000);
  CHECK_EQ(done["stored"], 1'000);
  CHECK_EQ(done["lost"], 0);
  peak = cache.peak_rss_kib();
  REQUIRE(peak);
  CHECK_LT(*peak, 256 * 1024);
  cache.kill(SIGTERM);
  REQUIRE_EQ(cache.wait_for_exit(30s), 0);
  auto stopped = event(cache.read_line(1s));
  CHECK_EQ(stopped["stored"], 1'000);
}
