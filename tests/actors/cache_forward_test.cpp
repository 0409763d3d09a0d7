// A leader partition's forwards to a follower are bounded
// (actors/cache_follow.hpp, **Capacity**): a cache node on loopback and a
// peer of our own making, in this process, whose scoped actor registers as
// the follower of the node's partition and acknowledges (`copied_atom`)
// only when the test says so, while a stream of the peer writes.

#include <doctest/doctest.h>

#include <chrono>
#include <vector>

#include "actors/cache_follow.hpp"
#include "tests/loopback.hpp"

using namespace supercache;

namespace {

/// `n` records `[i, "v"]` for the only partition, as a buffer streams them.
std::vector<entry> records(size_t n) {
  std::vector<entry> result;
  result.reserve(n);
  for (size_t i = 0; i < n; ++i)
    result.push_back(
      entry{0, 0,
            packed::pack(record::array({static_cast<int64_t>(i), "v"}),
                         record_layout{})
              .first,
            0, false});
  return result;
}

/// A cache node of one partition and a peer that follows that partition.
struct forward_fixture {
  forward_fixture() {
    options opts;
    opts.partitions = 1;
    REQUIRE_EQ(node.start(opts), caf::none);
    auto port = node.publish(0, "127.0.0.1");
    REQUIRE(port);
    auto parts = testing::partitions_at(peer_sys, *port);
    REQUIRE_EQ(parts.size(), 1u);
    leader = parts[0];
    // Empty: no copy, the answer at once. No node streams to it itself.
    follower->request(leader, std::chrono::seconds(30), follow_atom::value,
                      caf::node_id{})
      .receive([](caf::ok_atom) {},
               [](caf::error& err) { FAIL(render(err)); });
  }

  ~forward_fixture() {
    CHECK_EQ(node.stop(), caf::none);
  }

  /// Receives forwards until none came for `idle`, or until `until`
  /// records arrived in all; acknowledges each batch if `ack`. Returns
  /// whether the leader dropped the follower meanwhile.
  bool receive_forwards(std::chrono::milliseconds idle, size_t until,
                        bool ack) {
    bool dropped = false;
    bool quiet = false;
    while (!quiet && !dropped && received < until)
      follower->receive(
        [&](copy_atom, std::vector<entry>& xs) {
          received += xs.size();
          if (ack)
            follower->send(leader, copied_atom::value,
                           static_cast<uint64_t>(xs.size()));
        },
        [&](dropped_atom) { dropped = true; },
        caf::after(idle) >> [&] { quiet = true; });
    return dropped;
  }

  /// Spawns a stream of `n` records from the peer to the leader and
  /// monitors it.
  void start_stream(size_t n) {
    follower->monitor(
      peer_sys.spawn(testing::streamer, leader, uint32_t{0}, records(n)));
  }

  /// Waits until the stream is done.
  void wait_for_stream() {
    bool done = false;
    follower->receive([&](caf::down_msg&) { done = true; },
                      caf::after(std::chrono::seconds(60)) >> [] {});
    REQUIRE(done);
  }

  testing::net_config node_cfg;
  caf::actor_system node_sys{node_cfg};
  instance node{node_sys};
  testing::net_config peer_cfg;
  caf::actor_system peer_sys{peer_cfg};
  caf::scoped_actor follower{peer_sys};
  caf::actor leader;
  size_t received = 0;
};

} // namespace

TEST_CASE_FIXTURE(forward_fixture,
                  "a follower that acknowledges nothing holds its leader's "
                  "streams back once it has max_unacked_forwards records to "
                  "acknowledge, and they go on as it acknowledges") {
  constexpr size_t n = 3 * max_unacked_forwards;
  start_stream(n);
  // Without acknowledgments the forwards pass the bound (however slowly),
  // then stop short of the stream.
  REQUIRE_FALSE(receive_forwards(std::chrono::seconds(60),
                                 max_unacked_forwards + 1, false));
  CHECK_FALSE(receive_forwards(std::chrono::milliseconds(1000), n, false));
  MESSAGE("forwarded without acknowledgment: " << received);
  CHECK_GT(received, max_unacked_forwards);
  CHECK_LT(received, n);
  auto stored = node.size();
  REQUIRE(stored);
  CHECK_LT(*stored, n);
  // Acknowledged, the rest comes (the leader stored it first).
  follower->send(leader, copied_atom::value, static_cast<uint64_t>(received));
  CHECK_FALSE(receive_forwards(std::chrono::seconds(60), n, true));
  CHECK_EQ(received, n);
  wait_for_stream();
  stored = node.size();
  REQUIRE(stored);
  CHECK_EQ(*stored, n);
}

TEST_CASE_FIXTURE(forward_fixture,
                  "a follower that acknowledges nothing for "
                  "follower_stall_limit while past the bound is dropped and "
                  "told so, and its leader's streams go on without it") {
  constexpr size_t n = 2 * max_unacked_forwards;
  start_stream(n);
  auto limit = std::chrono::duration_cast<std::chrono::milliseconds>(
    follower_stall_limit);
  CHECK(receive_forwards(4 * limit, n, false));
  CHECK_LT(received, n);
  wait_for_stream();
  auto stored = node.size();
  REQUIRE(stored);
  CHECK_EQ(*stored, n);
  // Dropped: nothing more is forwarded to it.
  auto before = received;
  CHECK_EQ(node.put(record::array({-1, "after"})), caf::none);
  CHECK_FALSE(receive_forwards(std::chrono::milliseconds(200), n, false));
  CHECK_EQ(received, before);
}

TEST_CASE_FIXTURE(forward_fixture,
                  "a follower that has max_unacked_forwards_hard records of "
                  "synchronous writes to acknowledge, which no credit holds "
                  "back, is dropped and told so at once") {
  // Followed, the node's own writes go through the partition actor.
  constexpr size_t chunk = 65'536;
  std::vector<record> batch;
  size_t written = 0;
  while (written <= max_unacked_forwards_hard) {
    batch.clear();
    for (size_t i = 0; i < chunk; ++i)
      batch.push_back(record::array({static_cast<int64_t>(written + i), "v"}));
    REQUIRE_EQ(node.put_batch(batch), caf::none);
    written += chunk;
  }
  // The batch that crossed the bound went out, then the drop.
  CHECK(receive_forwards(std::chrono::seconds(60), written + 1, false));
  CHECK_EQ(received, written);
  CHECK_EQ(node.put(record::array({-1, "after"})), caf::none);
  CHECK_FALSE(receive_forwards(std::chrono::milliseconds(200), written + 1,
                               false));
  CHECK_EQ(received, written);
  auto stored = node.size();
  REQUIRE(stored);
  CHECK_EQ(*stored, written + 1);
}
