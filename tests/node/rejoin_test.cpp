// Rejoin on loopback: a cache node of three (replicas = 2) killed and
// restarted empty while a producer keeps writing copies its partitions from
// their live copies and stays in step with them (actors/cache_follow.hpp).

#include <csignal>
#include <string>

#include <doctest/doctest.h>

#include "tests/node/cluster.hpp"

using namespace std::chrono_literals;
using namespace supercache::testing;
using namespace supercache::testing::cluster;

namespace {

/// `[k, "v", value]` for every key k of `first` .. `first + n - 1`.
std::string writes(int first, int n, int value) {
  std::string result;
  for (int k = first; k < first + n; ++k)
    result += "[" + std::to_string(k) + ",\"v\"," + std::to_string(value)
              + "]\n";
  return result;
}

/// Waits until producer `p` reports the bad line `line` (it streams every
/// line before it by then).
void wait_for_line(process& p, int line) {
  REQUIRE(p.write("not json\n"));
  auto marker = "line " + std::to_string(line) + ": not valid JSON";
  REQUIRE_MESSAGE(p.wait_for_err(marker, 30s), p.err());
}

/// Waits until both buffers of producer `p` took back every partition of
/// node 2 (index 1) of `c` for the `times`th time.
void wait_for_take_back(process& p, const three_nodes& c, size_t times) {
  supercache::cluster_map map{3, partitions, 2};
  for (auto buffer : {1, 2})
    for (auto part : map.partitions_of(1)) {
      auto line = "buffer " + std::to_string(buffer)
                  + ": streams cache partition " + std::to_string(part + 1)
                  + " to the cache node at 127.0.0.1:" + c.ports[1]
                  + " again";
      REQUIRE_MESSAGE(p.wait_for_err(line, times, 30s), p.err());
    }
}

/// Ends the input of the producers and checks that each exits 0 having
/// lost no record.
void finish(std::initializer_list<process*> producers) {
  for (auto* p : producers)
    p->close_stdin();
  for (auto* p : producers) {
    auto status = p->wait_for_exit(120s);
    REQUIRE_MESSAGE(status, "a producer hangs: " << p->err());
    REQUIRE_MESSAGE(*status == 0, p->err());
    auto done = event(p->read_line(1s));
    MESSAGE(done.dump());
    CHECK_EQ(done["lost"], 0);
  }
}

void finish(process& old, process& fresh) {
  finish({&old, &fresh});
}

} // namespace

TEST_CASE("a cache node restarted empty while a producer keeps writing "
          "copies its partitions from their live copies: every copy then "
          "holds every key once with its last write, and no producer loses "
          "a record") {
  signal(SIGPIPE, SIG_IGN);
  constexpr int keys = 3'000;
  three_nodes c;
  // A library user connected before the restart, to clear at the end.
  reader early_sys;
  supercache::instance early{early_sys.sys};
  {
    supercache::options opts;
    opts.remote = c.list();
    opts.replicas = 2;
    opts.buffers = 1;
    REQUIRE_EQ(early.connect(opts), caf::none);
  }
  // `old` streams all along; it knows nothing of the restart.
  process old{producer_args(c.list()), true};
  REQUIRE(old.write(writes(0, keys, 1)));
  wait_for_line(old, keys + 1);
  c.nodes[1]->kill(SIGKILL);
  REQUIRE(c.nodes[1]->wait_for_exit(30s));
  // Each of its 2 buffers logs the loss once; wait for both, so that no
  // such line lands inside the line the next wait looks for.
  for (auto buffer : {"buffer 1: the cache node", "buffer 2: the cache node"})
    REQUIRE_MESSAGE(old.wait_for_err(buffer, 30s), old.err());
  REQUIRE(old.write(writes(0, keys, 2)));
  wait_for_line(old, 2 * keys + 2);
  process again{c.restart_args(1)};
  REQUIRE_EQ(listening_port(again), c.ports[1]);
  // A producer that connects now has the node copy its partitions; it
  // writes other keys, to every copy itself.
  process fresh{producer_args(c.list()), true};
  REQUIRE(fresh.write(writes(keys, keys, 7)));
  wait_for_line(fresh, keys + 1);
  CHECK_NE(fresh.err().find("restarted empty in a running cluster; it "
                            "copied its partitions"),
           std::string::npos);
  // `old` goes on writing its keys: the restarted node gets these through
  // the live copies it copied.
  REQUIRE(old.write(writes(0, keys, 3)));
  REQUIRE(fresh.write(writes(keys, keys, 8)));
  finish(old, fresh);
  CHECK_EQ(check_copies_agree(c, {true, true, true}), 2u * keys);
  // The restarted node holds its share of the keys, each with its last
  // write: 3 for `old`'s, 8 for `fresh`'s.
  auto values = values_on(c.ports[1], 2 * keys);
  size_t held = 0;
  int wrong = 0;
  for (int k = 0; k < 2 * keys; ++k) {
    if (values[k].is_null())
      continue;
    ++held;
    if (values[k] != (k < keys ? 3 : 8))
      ++wrong;
  }
  CHECK_EQ(wrong, 0);
  // Nodes hold 4 of 6 partitions each (core/cluster_map.hpp): about 2/3.
  CHECK_GT(held, size_t{2 * keys / 2});
  reader r;
  supercache::instance inst{r.sys};
  read_back(inst, c.list(), 2 * keys,
            [&](int k) { return k < keys ? 3 : 8; });
  auto stats = inst.stats();
  REQUIRE(stats);
  CHECK_EQ((*stats)["cluster"]["partitions"][0]["in_sync"],
           supercache::record::array({true, true}));
  REQUIRE_EQ(inst.stop(), caf::none);
  // `early` writes to the copies it connected to; the leaders forward its
  // clear to the restarted node.
  auto cleared = early.clear();
  REQUIRE_MESSAGE(cleared, supercache::render(cleared.error()));
  CHECK_EQ(*cleared, static_cast<size_t>(2 * keys));
  for (auto& port : c.ports)
    for (auto n : partition_sizes(port))
      CHECK_EQ(n, 0u);
  REQUIRE_EQ(early.stop(), caf::none);
}

TEST_CASE("a producer that ran across a rejoin streams to the rejoined node "
          "itself, so losing a leader's node afterwards loses none of its "
          "records") {
  signal(SIGPIPE, SIG_IGN);
  constexpr int keys = 3'000;
  three_nodes c;
  process old{producer_args(c.list()), true};
  REQUIRE(old.write(writes(0, keys, 1)));
  wait_for_line(old, keys + 1);
  c.nodes[1]->kill(SIGKILL);
  REQUIRE(c.nodes[1]->wait_for_exit(30s));
  auto lost = [&](int buffer, const std::string& port) {
    return "buffer " + std::to_string(buffer) + ": the cache node at 127.0.0.1:"
           + port + " went away";
  };
  for (auto buffer : {1, 2})
    REQUIRE_MESSAGE(old.wait_for_err(lost(buffer, c.ports[1]), 30s),
                    old.err());
  process again{c.restart_args(1)};
  REQUIRE_EQ(listening_port(again), c.ports[1]);
  process fresh{producer_args(c.list()), true};
  REQUIRE(fresh.write(writes(keys, keys, 7)));
  wait_for_line(fresh, keys + 1);
  // Each buffer of `old` takes back each partition of the restarted node.
  wait_for_take_back(old, c, 1);
  REQUIRE(old.write(writes(0, keys, 3)));
  wait_for_line(old, 2 * keys + 2);
  // Node 1 leads some of the restarted node's partitions: without the
  // take-back, `old` would have no copy of those left.
  c.nodes[0]->kill(SIGKILL);
  REQUIRE(c.nodes[0]->wait_for_exit(30s));
  for (auto buffer : {1, 2})
    REQUIRE_MESSAGE(old.wait_for_err(lost(buffer, c.ports[0]), 30s),
                    old.err());
  REQUIRE(old.write(writes(0, keys, 4)));
  finish(old, fresh);
  CHECK_EQ(check_copies_agree(c, {false, true, true}), 2u * keys);
  reader r;
  supercache::instance inst{r.sys};
  read_back(inst, c.list(), 2 * keys,
            [&](int k) { return k < keys ? 4 : 7; });
  REQUIRE_EQ(inst.stop(), caf::none);
}

TEST_CASE("a cache node killed and restarted twice while a producer keeps "
          "writing, the second time with the cluster's list, is taken back "
          "by that producer each time, and every copy ends with every key's "
          "last write") {
  signal(SIGPIPE, SIG_IGN);
  constexpr int keys = 2'000;
  three_nodes c;
  process old{producer_args(c.list()), true};
  REQUIRE(old.write(writes(0, keys, 1)));
  int lines = keys + 1;
  wait_for_line(old, lines);
  std::unique_ptr<process> node1;
  std::vector<std::unique_ptr<process>> fresh;
  for (size_t round = 1; round <= 2; ++round) {
    CAPTURE(round);
    auto& victim = node1 ? *node1 : *c.nodes[1];
    victim.kill(SIGKILL);
    REQUIRE(victim.wait_for_exit(30s));
    for (auto buffer : {"buffer 1: the cache node at 127.0.0.1:",
                        "buffer 2: the cache node at 127.0.0.1:"})
      REQUIRE_MESSAGE(old.wait_for_err(buffer + c.ports[1] + " went away",
                                       round, 30s),
                      old.err());
    // The second time with the cluster's list: it takes writes only from
    // producers that stated its place, and from `old` only because its
    // leaders vouch for it (core/placed_peers.hpp).
    node1 = std::make_unique<process>(c.restart_args(1, round == 2));
    REQUIRE_EQ(listening_port(*node1), c.ports[1]);
    // A producer that connects has the node copy its partitions; `old`
    // then takes back each of them on the lane it retired.
    fresh.push_back(std::make_unique<process>(producer_args(c.list()), true));
    REQUIRE(fresh.back()->write(writes(keys, keys, 6 + round)));
    wait_for_line(*fresh.back(), keys + 1);
    wait_for_take_back(old, c, round);
    REQUIRE(old.write(writes(0, keys, 1 + round)));
    lines += keys + 1;
    wait_for_line(old, lines);
  }
  finish({&old, fresh[0].get(), fresh[1].get()});
  CHECK_EQ(check_copies_agree(c, {true, true, true}), 2u * keys);
  // The restarted node holds its share, each key with its last write.
  auto values = values_on(c.ports[1], 2 * keys);
  int held = 0;
  int wrong = 0;
  for (int k = 0; k < 2 * keys; ++k)
    if (!values[k].is_null()) {
      ++held;
      wrong += values[k] != (k < keys ? 3 : 8) ? 1 : 0;
    }
  CHECK_EQ(wrong, 0);
  CHECK_GT(held, keys); // 4 of 6 partitions: about 2/3
  reader r;
  supercache::instance inst{r.sys};
  read_back(inst, c.list(), 2 * keys,
            [&](int k) { return k < keys ? 3 : 8; });
  REQUIRE_EQ(inst.stop(), caf::none);
}
