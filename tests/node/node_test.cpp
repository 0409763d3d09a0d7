// End-to-end tests of supercache-node: standalone, and a cache node and a
// producer node as separate processes on loopback (ports chosen by the OS).

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
using supercache::testing::process;

namespace {

namespace fs = std::filesystem;

/// Arguments that run supercache-node with the shipped config file.
std::vector<std::string> node_args(std::vector<std::string> extra) {
  std::vector<std::string> args{SUPERCACHE_NODE_PATH,
                                "--config-file=" SUPERCACHE_SOURCE_DIR
                                "/caf-application.conf",
                                "--scheduler.max-threads=2"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

/// Parses a JSON event line; fails the test if it is none.
nlohmann::json event(const std::optional<std::string>& line) {
  REQUIRE_MESSAGE(line, "no event line");
  auto x = nlohmann::json::parse(*line, nullptr, false);
  REQUIRE_MESSAGE(x.is_object(), *line);
  return x;
}

/// Starts a cache node on a free port; returns its port.
uint16_t start_cache_node(process& node) {
  auto listening = event(node.read_line(30s));
  CHECK_EQ(listening["event"], "listening");
  return listening["port"].get<uint16_t>();
}

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

/// A temporary NDJSON file, removed at the end of the test.
struct input_file {
  explicit input_file(const std::string& text) {
    path = fs::temp_directory_path()
           / ("supercache_node_test_" + std::to_string(getpid()) + ".ndjson");
    std::ofstream{path} << text;
  }
  ~input_file() {
    std::error_code ec;
    fs::remove(path, ec);
  }
  fs::path path;
};

/// Arguments of a producer node that streams stdin to the cache node on
/// `port`.
std::vector<std::string> stdin_producer_args(const std::string& port) {
  return node_args({"--supercache.role=\"producer\"",
                    "--supercache.remote=\"127.0.0.1:" + port + "\"",
                    "--supercache.input=\"-\""});
}

/// Returns `n` NDJSON records `[i,"v"]`.
std::string records_chunk(int n) {
  std::string result;
  for (int i = 0; i < n; ++i)
    result += "[" + std::to_string(i) + ",\"v\"]\n";
  return result;
}

std::string in_quotes(const std::string& x) {
  return "\"" + x + "\"";
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
  auto port = std::to_string(start_cache_node(first));
  process second{node_args({"--supercache.role=\"cache\"",
                            "--supercache.port=" + port})};
  REQUIRE_EQ(second.wait_for_exit(30s), 1);
  CHECK_NE(second.err().find("cannot listen on 127.0.0.1:" + port),
           std::string::npos);
  first.kill(SIGTERM);
  CHECK_EQ(first.wait_for_exit(30s), 0);
}

TEST_CASE("a producer node streams every record to a cache node on loopback: "
          "exactly the distinct keys are stored and the last write of each "
          "key wins") {
  constexpr int records = 50'000;
  constexpr int keys = 7'000;
  std::string text;
  for (int i = 0; i < records; ++i)
    text += "[" + std::to_string(i % keys) + ",\"v\"," + std::to_string(i)
            + "]\n";
  input_file input{text};
  process cache{node_args({"--supercache.role=\"cache\""})};
  auto port = std::to_string(start_cache_node(cache));
  auto remote = "127.0.0.1:" + port;
  process producer{node_args({"--supercache.role=\"producer\"",
                              "--supercache.remote=" + in_quotes(remote),
                              "--supercache.input="
                                + in_quotes(input.path.string())})};
  auto status = producer.wait_for_exit(120s);
  REQUIRE_MESSAGE(status, "the producer hangs");
  REQUIRE_MESSAGE(*status == 0, producer.err());
  auto done = event(producer.read_line(1s));
  CHECK_EQ(done["event"], "done");
  CHECK_EQ(done["role"], "producer");
  CHECK_EQ(done["accepted"], records);
  CHECK_EQ(done["rejected"], 0);
  CHECK_EQ(done["stored"], keys);
  CHECK_EQ(done["lost"], 0);
  {
    // Read every key back through a connection of our own.
    caf::actor_system_config cfg;
    supercache::configure(cfg);
    cfg.load<caf::io::middleman>();
    cfg.set("logger.verbosity", caf::atom("quiet"));
    caf::actor_system sys{cfg};
    supercache::options opts;
    opts.remote = remote;
    opts.buffers = 1;
    REQUIRE_EQ(supercache::connect(sys, opts), caf::none);
    auto n = supercache::size();
    REQUIRE(n);
    CHECK_EQ(*n, static_cast<size_t>(keys));
    int wrong = 0;
    for (int k = 0; k < keys; ++k) {
      auto found = supercache::get(supercache::record::array({k, nullptr}));
      REQUIRE(found);
      auto last = (records - 1 - k) / keys * keys + k; // last i ≡ k
      if (found->size() != 1 || (*found)[0][2] != last) {
        if (wrong++ == 0)
          MESSAGE("key " << k << ": " << supercache::record(*found).dump());
      }
    }
    CHECK_EQ(wrong, 0);
    REQUIRE_EQ(supercache::stop(), caf::none);
    CHECK_EQ(supercache::last_stop_size(), static_cast<size_t>(keys));
  }
  cache.kill(SIGTERM);
  REQUIRE_EQ(cache.wait_for_exit(30s), 0);
  auto stopped = event(cache.read_line(1s));
  CHECK_EQ(stopped["event"], "stopped");
  CHECK_EQ(stopped["stored"], keys);
}

TEST_CASE("a cache node killed mid-ingest makes the producer exit non-zero "
          "with a clear message and no hang") {
  signal(SIGPIPE, SIG_IGN);
  process cache{node_args({"--supercache.role=\"cache\""})};
  auto port = std::to_string(start_cache_node(cache));
  process producer{stdin_producer_args(port), true};
  auto chunk = records_chunk(1000);
  for (int i = 0; i < 20; ++i)
    REQUIRE(producer.write(chunk));
  cache.kill(SIGKILL);
  REQUIRE(cache.wait_for_exit(30s));
  // Keep feeding until the producer notices and stops reading, or give up
  // after 200k more lines and let it notice at its flush.
  for (int i = 0; i < 200 && producer.write(chunk); ++i)
    ; // nop
  producer.close_stdin();
  auto status = producer.wait_for_exit(60s);
  REQUIRE_MESSAGE(status, "the producer hangs");
  CHECK_EQ(*status, 1);
  CHECK_NE(producer.err().find("supercache::unreachable"), std::string::npos);
  CHECK_NE(producer.err().find("127.0.0.1:" + port), std::string::npos);
  CHECK_EQ(producer.out().find("\"event\":\"done\""), std::string::npos);
}

TEST_CASE("a frozen cache node makes the producer exit non-zero within the "
          "connection timeout") {
  // caf-application.conf: heartbeat-interval=1s, connection-timeout=5s.
  signal(SIGPIPE, SIG_IGN);
  process cache{node_args({"--supercache.role=\"cache\""})};
  auto port = std::to_string(start_cache_node(cache));
  process producer{stdin_producer_args(port), true};
  auto chunk = records_chunk(1000);
  for (int i = 0; i < 20; ++i)
    REQUIRE(producer.write(chunk));
  cache.kill(SIGSTOP);
  auto frozen = std::chrono::steady_clock::now();
  producer.close_stdin();
  auto status = producer.wait_for_exit(30s);
  cache.kill(SIGCONT);
  REQUIRE_MESSAGE(status, "the producer hangs");
  CHECK_EQ(*status, 1);
  CHECK_LT(std::chrono::steady_clock::now() - frozen, 15s);
  CHECK_NE(producer.err().find("supercache::unreachable"), std::string::npos);
  CHECK_EQ(producer.out().find("\"event\":\"done\""), std::string::npos);
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

TEST_CASE("SIGTERM to a producer node reading an open pipe stops the ingest "
          "and every accepted record reaches the cache node") {
  process cache{node_args({"--supercache.role=\"cache\""})};
  auto port = std::to_string(start_cache_node(cache));
  process producer{stdin_producer_args(port), true};
  REQUIRE(producer.write(records_chunk(5000) + "not json\n"));
  REQUIRE(producer.wait_for_err("line 5001: not valid JSON", 30s));
  producer.kill(SIGTERM);
  REQUIRE_EQ(producer.wait_for_exit(30s), 128 + SIGTERM);
  auto done = event(producer.read_line(1s));
  CHECK_EQ(done["event"], "done");
  CHECK_EQ(done["role"], "producer");
  CHECK_EQ(done["interrupted"], true);
  CHECK_EQ(done["accepted"], 5000);
  CHECK_EQ(done["stored"], 5000);
  CHECK_EQ(done["lost"], 0);
  cache.kill(SIGTERM);
  REQUIRE_EQ(cache.wait_for_exit(30s), 0);
  auto stopped = event(cache.read_line(1s));
  CHECK_EQ(stopped["stored"], 5000);
}

TEST_CASE("records nested one level beyond the limit are refused by the "
          "producer node with their line numbers, and every accepted record "
          "is stored by the cache node") {
  process cache{node_args({"--supercache.role=\"cache\""})};
  auto port = std::to_string(start_cache_node(cache));
  process producer{stdin_producer_args(port), true};
  // Lines 100, 200, ..., 2000 nest 513 levels (the record's array is one).
  std::string text;
  for (int i = 1; i <= 2000; ++i)
    if (i % 100 == 0)
      text += "[" + std::to_string(i) + "," + std::string(512, '[') + "1"
              + std::string(512, ']') + "]\n";
    else
      text += "[" + std::to_string(i) + ",\"v\"]\n";
  REQUIRE(producer.write(text));
  producer.close_stdin();
  REQUIRE_EQ(producer.wait_for_exit(60s), 0);
  auto done = event(producer.read_line(1s));
  CHECK_EQ(done["accepted"], 1980);
  CHECK_EQ(done["rejected"], 20);
  CHECK_EQ(done["stored"], 1980);
  CHECK_EQ(done["lost"], 0);
  CHECK_NE(producer.err().find("line 100: supercache::invalid_record"),
           std::string::npos);
  cache.kill(SIGTERM);
  REQUIRE_EQ(cache.wait_for_exit(30s), 0);
  CHECK_EQ(event(cache.read_line(1s))["stored"], 1980);
}

TEST_CASE("a producer that loses its cache node prints what it accepted and "
          "lost before it exits 1") {
  signal(SIGPIPE, SIG_IGN);
  process cache{node_args({"--supercache.role=\"cache\""})};
  auto port = std::to_string(start_cache_node(cache));
  process producer{stdin_producer_args(port), true};
  REQUIRE(producer.write(records_chunk(5000) + "not json\n"));
  REQUIRE(producer.wait_for_err("line 5001: not valid JSON", 30s));
  cache.kill(SIGKILL);
  REQUIRE(cache.wait_for_exit(30s));
  producer.close_stdin();
  auto status = producer.wait_for_exit(60s);
  REQUIRE_MESSAGE(status, "the producer hangs");
  CHECK_EQ(*status, 1);
  auto aborted = event(producer.read_line(1s));
  CHECK_EQ(aborted["event"], "aborted");
  CHECK_EQ(aborted["role"], "producer");
  CHECK_EQ(aborted["accepted"], 5000);
  CHECK_EQ(aborted["rejected"], 1);
  // Each accepted record was shipped before the cache node died (its fate
  // is the cache node's), or counted lost.
  CHECK_EQ(aborted["shipped"].get<int>() + aborted["lost"].get<int>(), 5000);
  CHECK_EQ(aborted["dropped"], 0);
  CHECK_EQ(aborted["complete"], true);
  CHECK_NE(producer.err().find("supercache::unreachable"), std::string::npos);
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
