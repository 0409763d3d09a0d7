// A cluster over TLS: three TLS cache nodes (mutual certificates,
// tests/pki), a producer node with replicas = 2 that streams to all of
// them, a producer with a stranger's certificate refused at connect, and a
// node restarted empty that copies its partitions back over TLS.

#include <chrono>
#include <csignal>
#include <memory>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "tests/pki/pki.hpp"
#include "tests/process.hpp"

using namespace std::chrono_literals;
using namespace supercache::testing;

namespace {

/// Returns `n` NDJSON records over `keys` keys.
std::string tls_records(int n, int keys) {
  std::string result;
  for (int i = 0; i < n; ++i)
    result += "[" + std::to_string(i % keys) + ",\"v\"," + std::to_string(i)
              + "]\n";
  return result;
}

/// Runs a producer node with `tls` arguments against the cluster `list`
/// reading `input`; returns its exit status (fails the test on a hang).
int run_producer(const std::string& list, std::vector<std::string> tls,
                 const std::string& input, std::string& out,
                 std::string& err) {
  process producer{node_args({"--supercache.role=\"producer\"",
                              "--supercache.remote=" + in_quotes(list),
                              "--supercache.replicas=2",
                              "--supercache.input=" + in_quotes(input)},
                             std::move(tls))};
  auto status = producer.wait_for_exit(90s);
  REQUIRE_MESSAGE(status, "the producer hangs: " << producer.err());
  out = producer.out();
  err = producer.err();
  return *status;
}

/// Starts three TLS cache nodes of 3 partitions into `nodes`; returns
/// their `remote` list.
std::string start_nodes(std::vector<std::unique_ptr<process>>& nodes) {
  std::string list;
  for (int k = 0; k < 3; ++k) {
    nodes.push_back(std::make_unique<process>(
      node_args({"--supercache.role=\"cache\"", "--supercache.partitions=3"},
                tls_args("cache"))));
    auto listening = event(nodes.back()->read_line(30s));
    REQUIRE_MESSAGE(listening["event"] == "listening", nodes.back()->err());
    CHECK_EQ(listening["tls"], true);
    list += (list.empty() ? "" : ",") + std::string{"127.0.0.1:"}
            + std::to_string(listening["port"].get<uint16_t>());
  }
  return list;
}

} // namespace

TEST_CASE("every link of a TLS cluster uses TLS: a producer with a valid "
          "certificate stores every key on three TLS cache nodes, one with a "
          "stranger's certificate is refused, and a node restarted empty "
          "copies its partitions back") {
  constexpr int records = 6'000;
  constexpr int keys = 1'500;
  input_file input{tls_records(records, keys)};
  std::vector<std::unique_ptr<process>> nodes;
  auto list = start_nodes(nodes);
  std::string out, err;
  auto stranger = run_producer(list, tls_args("stranger", "stranger-ca"),
                               input.path.string(), out, err);
  CHECK_NE(stranger, 0);
  CHECK_NE(err.find("supercache::unreachable"), std::string::npos);
  auto status = run_producer(list, tls_args("producer"), input.path.string(),
                             out, err);
  REQUIRE_MESSAGE(status == 0, err);
  auto done = event(out.substr(0, out.find('\n')));
  CHECK_EQ(done["accepted"], records);
  CHECK_EQ(done["stored"], keys);
  CHECK_EQ(done["lost"], 0);
  // Node 2 dies and restarts empty on its port: the next producer has it
  // copy its partitions over TLS links of its own (rejoin), and a producer
  // that runs across it takes it back over a TLS link of its own.
  auto port = list.substr(list.find(',') + 1);
  port = port.substr(port.find(':') + 1, port.find(',') - port.find(':') - 1);
  process running{node_args({"--supercache.role=\"producer\"",
                             "--supercache.remote=" + in_quotes(list),
                             "--supercache.replicas=2",
                             "--supercache.buffers=1",
                             "--supercache.input=\"-\""},
                            tls_args("producer")),
                  true};
  // Connected (it streams lines once it is) before the node dies.
  REQUIRE(running.write(tls_records(keys, keys) + "not json\n"));
  REQUIRE_MESSAGE(running.wait_for_err("line " + std::to_string(keys + 1)
                                         + ": not valid JSON",
                                       30s),
                  running.err());
  nodes[1]->kill(SIGKILL);
  REQUIRE(nodes[1]->wait_for_exit(30s));
  REQUIRE_MESSAGE(running.wait_for_err("went away", 30s), running.err());
  nodes[1] = std::make_unique<process>(
    node_args({"--supercache.role=\"cache\"", "--supercache.partitions=3",
               "--supercache.port=" + port},
              tls_args("cache")));
  REQUIRE_EQ(event(nodes[1]->read_line(30s))["port"], std::stoi(port));
  status = run_producer(list, tls_args("producer"), input.path.string(), out,
                        err);
  REQUIRE_MESSAGE(status == 0, err);
  CHECK_NE(err.find("it copied its partitions from their other replicas"),
           std::string::npos);
  REQUIRE_MESSAGE(running.wait_for_err("to the cache node at 127.0.0.1:" + port
                                         + " again",
                                       30s),
                  running.err());
  REQUIRE(running.write(tls_records(keys, keys)));
  running.close_stdin();
  auto running_status = running.wait_for_exit(60s);
  REQUIRE_MESSAGE(running_status, "the producer hangs: " << running.err());
  REQUIRE_MESSAGE(*running_status == 0, running.err());
  CHECK_EQ(event(running.read_line(1s))["lost"], 0);
  // Each partition is on two nodes: the nodes hold twice the keys.
  uint64_t held = 0;
  for (auto& node : nodes) {
    node->kill(SIGTERM);
    REQUIRE_EQ(node->wait_for_exit(30s), 0);
    held += event(node->read_line(1s))["stored"].get<uint64_t>();
  }
  CHECK_EQ(held, 2u * keys);
}

TEST_CASE("a TLS producer keeps its links while another producer connects, "
          "writes and exits without closing TLS (CAF 0.17's stale OpenSSL "
          "errors do not close other links)") {
  std::vector<std::unique_ptr<process>> nodes;
  auto list = start_nodes(nodes);
  process running{node_args({"--supercache.role=\"producer\"",
                             "--supercache.remote=" + in_quotes(list),
                             "--supercache.replicas=2",
                             "--supercache.input=\"-\""},
                            tls_args("producer")),
                  true};
  REQUIRE(running.write(tls_records(100, 100) + "not json\n"));
  REQUIRE_MESSAGE(running.wait_for_err("line 101: not valid JSON", 30s),
                  running.err());
  input_file input{tls_records(6'000, 1'500)};
  std::string out, err;
  REQUIRE_EQ(run_producer(list, tls_args("producer"), input.path.string(),
                          out, err),
             0);
  // The nodes' I/O threads saw that producer's links end without TLS's
  // close_notify; the other links stay (heartbeats every second).
  CHECK_FALSE(running.wait_for_err("went away", 8s));
  REQUIRE(running.write(tls_records(100, 100)));
  running.close_stdin();
  auto status = running.wait_for_exit(60s);
  REQUIRE_MESSAGE(status, "the producer hangs: " << running.err());
  REQUIRE_MESSAGE(*status == 0, running.err());
  CHECK_EQ(event(running.read_line(1s))["lost"], 0);
}
