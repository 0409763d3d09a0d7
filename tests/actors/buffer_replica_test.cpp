// Actor-level tests of a buffer streaming to two copies of one partition
// (a cluster with replicas = 2), on the test coordinator: the copies are
// local partition actors standing in for two cache nodes.

#include <doctest/doctest.h>

#include "tests/fixture.hpp"

using namespace supercache;

namespace {

/// One partition with two copies, and one buffer streaming to both.
struct replica_fixture : testing::fixture {
  replica_fixture() {
    for (int i = 0; i < 2; ++i) {
      tables.push_back(std::make_shared<table>(table_type::set, layout));
      copies.push_back(sys.spawn(cache_actor, uint32_t{0}, uint32_t{1},
                                 tables.back(),
                                 std::shared_ptr<counter_board>{},
                                 guard_counters_ptr{}));
    }
    buffer_settings settings{layout};
    counters->end_to_end = false; // as for any remote cache
    settings.counters = counters;
    settings.remote = true; // a copy that goes away is not restarted
    settings.lane_partition = {0, 0};
    settings.lane_node = {"a:1", "b:2"};
    settings.homes = {{"a:1", "b:2", "c:3"}};
    settings.guards = guards;
    // Links to other nodes fail here.
    settings.connector = sys.spawn([](caf::event_based_actor*) -> caf::behavior {
      return {[](caf::connect_atom, const std::string&, uint16_t) {
        return caf::make_error(caf::sec::cannot_connect_to_node);
      }};
    });
    connector = settings.connector;
    buf = sys.spawn(buffer_actor, copies, std::move(settings));
    run_streams();
  }

  ~replica_fixture() {
    for (auto& hdl : copies)
      send_local_exit(hdl, caf::exit_reason::user_shutdown);
    send_local_exit(buf, caf::exit_reason::user_shutdown);
    send_local_exit(connector, caf::exit_reason::user_shutdown);
    run_streams();
  }

  void put(int from, int to) {
    for (int i = from; i < to; ++i)
      caf::anon_send(buf, caf::put_atom::value,
                     record::array({i % 100, "value-" + std::to_string(i)}));
  }

  record_layout layout;
  std::shared_ptr<buffer_counters> counters
    = std::make_shared<buffer_counters>();
  guard_counters_ptr guards = std::make_shared<guard_counters>();
  std::vector<std::shared_ptr<table>> tables;
  std::vector<caf::actor> copies;
  caf::actor buf;
  caf::actor connector;
};

} // namespace

TEST_CASE_FIXTURE(replica_fixture,
                  "a buffer with two copies of a partition stores every "
                  "record in both, in order, and counts each record written "
                  "once") {
  put(0, 1000);
  self->send(buf, caf::flush_atom::value);
  run_streams();
  CHECK(receive_as<caf::ok_atom>().has_value());
  for (auto& tbl : tables) {
    CHECK_EQ(tbl->size(), 100u);
    auto found = tbl->get(key_of(record::array({7, nullptr}), layout));
    REQUIRE_EQ(found.size(), 1u);
    CHECK_EQ(found.front()[1], "value-907"); // the last write of key 7
  }
  CHECK_EQ(counters->written.load(), 1000u);
  CHECK_EQ(counters->replicas_lost.load(), 0u);
}

TEST_CASE_FIXTURE(replica_fixture,
                  "a copy that goes away is dropped: a pending flush "
                  "completes, later records go on to the other copy, and "
                  "nothing is counted lost") {
  put(0, 500);
  self->send(buf, caf::flush_atom::value);
  // Before anything ships, the second copy dies: the flush must not wait
  // for its acknowledgment.
  send_local_exit(copies[1], caf::exit_reason::kill);
  run_streams();
  CHECK(receive_as<caf::ok_atom>().has_value());
  put(500, 1000);
  self->send(buf, caf::flush_atom::value);
  run_streams();
  CHECK(receive_as<caf::ok_atom>().has_value());
  auto found = tables[0]->get(key_of(record::array({7, nullptr}), layout));
  REQUIRE_EQ(found.size(), 1u);
  CHECK_EQ(found.front()[1], "value-907");
  CHECK_EQ(counters->written.load(), 1000u);
  CHECK_EQ(counters->replicas_lost.load(), 1u);
  CHECK_EQ(counters->lost.load(), 0u);
  CHECK_EQ(counters->pending(), 0u);
}

TEST_CASE_FIXTURE(replica_fixture,
                  "losing both copies of a partition fails the flush with "
                  "unreachable naming the partition and both nodes") {
  put(0, 100);
  send_local_exit(copies[0], caf::exit_reason::kill);
  run_streams();
  send_local_exit(copies[1], caf::exit_reason::kill);
  run_streams();
  self->send(buf, caf::flush_atom::value);
  run_streams();
  auto err = receive_error();
  CHECK_EQ(err.code(), static_cast<uint8_t>(errc::unreachable));
  CHECK_NE(render(err).find("cache partition 1 on a:1 b:2 (every replica)"),
           std::string::npos);
  CHECK(counters->unreachable.load());
  CHECK_EQ(counters->replicas_lost.load(), 1u);
}

TEST_CASE_FIXTURE(replica_fixture,
                  "records that both copies refuse are counted lost once, "
                  "from the first live copy, and from the other once the "
                  "first is gone") {
  // Both copies refuse the same records (as a node's checks would).
  caf::send_as(copies[1], buf, refused_atom::value, uint64_t{3});
  caf::send_as(copies[0], buf, refused_atom::value, uint64_t{3});
  run_streams();
  CHECK_EQ(counters->lost.load(), 3u);
  send_local_exit(copies[0], caf::exit_reason::kill);
  run_streams();
  REQUIRE_EQ(counters->replicas_lost.load(), 1u);
  caf::send_as(copies[1], buf, refused_atom::value, uint64_t{2});
  run_streams();
  CHECK_EQ(counters->lost.load(), 5u);
}

TEST_CASE_FIXTURE(replica_fixture,
                  "a request to take back a rejoined copy is refused and "
                  "counted unless a copy of the partition sends it, and a "
                  "refused one changes nothing") {
  auto other = caf::make_node_id(42, "0102030405060708090a0b0c0d0e0f1011121314");
  REQUIRE(other);
  // From an actor that is no copy this buffer streams to.
  self->send(buf, follow_atom::value, uint32_t{0}, *other, uint64_t{1});
  run();
  CHECK_EQ(guards->refused.load(), 1u);
  // From a copy, for a partition that does not exist.
  caf::send_as(copies[0], buf, follow_atom::value, uint32_t{5}, *other,
               uint64_t{1});
  run();
  CHECK_EQ(guards->refused.load(), 2u);
  // From a copy, naming this node.
  caf::send_as(copies[0], buf, follow_atom::value, uint32_t{0}, sys.node(),
               uint64_t{1});
  run();
  CHECK_EQ(guards->refused.load(), 3u);
  // A valid request whose node cannot be reached: not refused, logged, and
  // the buffer streams on as before.
  caf::send_as(copies[0], buf, follow_atom::value, uint32_t{0}, *other,
               uint64_t{1});
  run();
  CHECK_EQ(guards->refused.load(), 3u);
  put(0, 100);
  self->send(buf, caf::flush_atom::value);
  run_streams();
  CHECK(receive_as<caf::ok_atom>().has_value());
  for (auto& tbl : tables)
    CHECK_EQ(tbl->size(), 100u);
}
