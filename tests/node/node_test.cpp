// End-to-end tests of supercache-node on its own: a standalone node's
// ingest, input and signals, configuration errors, help, ports (a producer
// streaming to a cache node: producer_test.cpp).

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <string>

#include <netinet/in.h>
#include <sys/socket.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>

#include <doctest/doctest.h>

#include <supercache/supercache.hpp>
#include "tests/process.hpp"

using namespace std::chrono_literals;
using namespace supercache::testing;

namespace {

namespace fs = std::filesystem;

/// Returns a loopback port that nothing listens on (bound, then closed).
uint16_t closed_port() {
  auto fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

} // namespace

TEST_CASE("a standalone node ingests the shipped sample: 1200 accepted, 2 "
          "rejected with their line numbers, 1000 stored") {
  process node{node_args({})};
  REQUIRE_EQ(node.wait_for_exit(60s), 0);
  auto done = event(node.read_line(1s));
  CHECK_EQ(done["event"], "done");
  CHECK_EQ(done["role"], "standalone");
  CHECK_EQ(done["accepted"], 1200);
  CHECK_EQ(done["rejected"], 2);
  CHECK_EQ(done["stored"], 1000);
  CHECK_EQ(done["replicas_lost"], 0); // a count, also without a cluster
  CHECK(done["seconds"].is_number());
  CHECK_NE(node.err().find("line 501: supercache::invalid_record"),
           std::string::npos);
  CHECK_NE(node.err().find("line 1202: not valid JSON"), std::string::npos);
  // stderr is a pipe here, not a terminal: no progress bar.
  CHECK_EQ(node.err().find('\r'), std::string::npos);
}

TEST_CASE("a bad configuration value gives one clear line and exit status 2") {
  for (auto arg : {"--supercache.role=\"master\"",
                   "--supercache.remote=\"nohost\"",
                   "--supercache.port=70000"}) {
    CAPTURE(arg);
    process node{node_args({arg})};
    REQUIRE_EQ(node.wait_for_exit(30s), 2);
    CHECK_EQ(node.out(), "");
    CHECK_NE(node.err().find("supercache-node: error: configuration: "
                             "supercache::invalid_option"),
             std::string::npos);
    CHECK_EQ(std::count(node.err().begin(), node.err().end(), '\n'), 1);
  }
}

TEST_CASE("a producer without remote, or pointed at a closed port, fails "
          "at once with a clear message") {
  process no_remote{node_args({"--supercache.role=\"producer\""})};
  REQUIRE_EQ(no_remote.wait_for_exit(30s), 2);
  CHECK_NE(no_remote.err().find("needs supercache.remote"), std::string::npos);
  auto port = std::to_string(closed_port());
  auto start = std::chrono::steady_clock::now();
  process node{node_args({"--supercache.role=\"producer\"",
                          "--supercache.remote=\"127.0.0.1:" + port + "\""})};
  REQUIRE_EQ(node.wait_for_exit(30s), 1);
  CHECK_LT(std::chrono::steady_clock::now() - start, 10s);
  CHECK_NE(node.err().find("cannot connect to the cache node at 127.0.0.1:"
                           + port),
           std::string::npos);
  CHECK_EQ(node.out(), "");
}

TEST_CASE("a cache node refuses a port that is taken with a clear message") {
  process first{node_args({"--supercache.role=\"cache\""})};
  auto port = (listening_port(first));
  process second{node_args({"--supercache.role=\"cache\"",
                            "--supercache.port=" + port})};
  REQUIRE_EQ(second.wait_for_exit(30s), 1);
  CHECK_NE(second.err().find("cannot listen on 127.0.0.1:" + port),
           std::string::npos);
  first.kill(SIGTERM);
  CHECK_EQ(first.wait_for_exit(30s), 0);
}

TEST_CASE("the node's --long-help lists its options and --dump-config shows "
          "the effective configuration") {
  process help{node_args({"--long-help"})};
  REQUIRE_EQ(help.wait_for_exit(30s), 0);
  for (auto key : {"supercache.role", "supercache.remote", "supercache.input",
                   "supercache.port", "supercache.connect-timeout"})
    CHECK_MESSAGE(help.out().find(key) != std::string::npos, key);
  process dump{node_args({"--dump-config", "--supercache.role=\"cache\"",
                          "--supercache.port=4711"})};
  REQUIRE_EQ(dump.wait_for_exit(30s), 0);
  CHECK_NE(dump.out().find("role = \"cache\""), std::string::npos);
  CHECK_NE(dump.out().find("port = 4711"), std::string::npos);
  CHECK_NE(dump.out().find("heartbeat-interval = 1s"), std::string::npos);
  CHECK_EQ(dump.out().find("cluster map"), std::string::npos);
}

TEST_CASE("a producer's --dump-config shows the cluster map of its remote "
          "list: each partition's nodes, primary first") {
  process dump{node_args({"--dump-config", "--supercache.role=\"producer\"",
                          "--supercache.remote=\"a:1,b:2,c:3\"",
                          "--supercache.partitions=4",
                          "--supercache.replicas=2"})};
  REQUIRE_EQ(dump.wait_for_exit(30s), 0);
  auto out = dump.out();
  CHECK_NE(out.find("for partitions = 4"), std::string::npos);
  CHECK_NE(out.find("#   partition 1: a:1 b:2\n"), std::string::npos);
  CHECK_NE(out.find("#   partition 3: c:3 a:1\n"), std::string::npos);
  CHECK_NE(out.find("#   partition 4: a:1 b:2\n"), std::string::npos);
}

TEST_CASE("a directory as input makes the node exit 1 with a message naming "
          "it, while an empty input is a valid empty input") {
  auto dir = fs::temp_directory_path().string();
  process node{node_args({"--supercache.input=" + in_quotes(dir)})};
  REQUIRE_EQ(node.wait_for_exit(30s), 1);
  CHECK_NE(node.err().find("cannot read input '" + dir
                           + "': Is a directory"),
           std::string::npos);
  CHECK_EQ(node.out().find("\"event\":\"done\""), std::string::npos);
  // stdin is /dev/null here: empty.
  process empty{node_args({"--supercache.input=\"-\""})};
  REQUIRE_EQ(empty.wait_for_exit(30s), 0);
  auto done = event(empty.read_line(1s));
  CHECK_EQ(done["event"], "done");
  CHECK_EQ(done["accepted"], 0);
  CHECK_EQ(done["interrupted"], false);
}

TEST_CASE("SIGTERM or SIGINT to a standalone node reading an open pipe stops "
          "the ingest, stores every accepted record and reports it as "
          "interrupted") {
  for (int sig : {SIGTERM, SIGINT}) {
    CAPTURE(sig);
    process node{node_args({"--supercache.input=\"-\""}), true};
    // The bad last line tells when every record before it was accepted.
    REQUIRE(node.write(records_chunk(5000) + "not json\n"));
    REQUIRE(node.wait_for_err("line 5001: not valid JSON", 30s));
    node.kill(sig);
    REQUIRE_EQ(node.wait_for_exit(30s), 128 + sig);
    auto done = event(node.read_line(1s));
    CHECK_EQ(done["event"], "done");
    CHECK_EQ(done["interrupted"], true);
    CHECK_EQ(done["accepted"], 5000);
    CHECK_EQ(done["rejected"], 1);
    CHECK_EQ(done["stored"], 5000);
    CHECK_EQ(done["lost"], 0);
  }
}

TEST_CASE("a standalone node refuses a line nested 100,000 levels as "
          "invalid_record with its line number and stores the others") {
  input_file input{"[1,\"a\"]\n[\"key\"," + std::string(99999, '[') + "1"
                   + std::string(99999, ']') + "]\n[2,\"b\"]\n"};
  process node{node_args({"--supercache.input="
                          + in_quotes(input.path.string())})};
  REQUIRE_EQ(node.wait_for_exit(30s), 0);
  auto done = event(node.read_line(1s));
  CHECK_EQ(done["accepted"], 2);
  CHECK_EQ(done["rejected"], 1);
  CHECK_EQ(done["stored"], 2);
  CHECK_NE(node.err().find("line 2: supercache::invalid_record"),
           std::string::npos);
  CHECK_NE(node.err().find("at most 512 levels"), std::string::npos);
}
