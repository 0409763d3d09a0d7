// What a peer cannot make the actors do (issue 10, item 2), on the test
// coordinator. A peer's messages arrive as deserialized `caf::message`s,
// without a sender when it sent them anonymously: `anon_send(hdl,
// caf::make_message(...))` and `anon_send_exit` build exactly such elements.

#include <doctest/doctest.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "tests/fixture.hpp"

using namespace supercache;

namespace {

/// Two partitions and a buffer; `swap` gives the buffer the partitions in
/// the wrong order, so every record reaches a partition of another index.
struct guard_fixture : testing::fixture {
  explicit guard_fixture(bool swap = false) {
    for (uint32_t i = 0; i < 2; ++i) {
      tables.push_back(std::make_shared<table>(table_type::set, layout));
      partitions.push_back(sys.spawn(cache_actor, i, uint32_t{2},
                                     tables.back(),
                                     std::shared_ptr<counter_board>{},
                                     counters));
    }
    auto order = partitions;
    if (swap)
      std::swap(order[0], order[1]);
    buffer_settings settings{layout};
    settings.guards = counters;
    buf = sys.spawn(buffer_actor, order, settings);
    run_streams();
  }

  ~guard_fixture() {
    for (auto& hdl : partitions)
      send_local_exit(hdl, caf::exit_reason::user_shutdown);
    send_local_exit(buf, caf::exit_reason::user_shutdown);
    run_streams();
  }

  /// The guard counters of these actors (as an instance's).
  guard_counters_ptr counters = std::make_shared<guard_counters>();

  size_t stored() const {
    return tables[0]->size() + tables[1]->size();
  }

  /// Puts `n` records through the buffer and flushes.
  void put(int n) {
    for (int i = 0; i < n; ++i)
      self->send(buf, caf::put_atom::value, record::array({i, "v"}));
    run_streams();
    self->send(buf, caf::flush_atom::value);
    run_streams();
  }

  /// Returns whether `hdl` still answers a stats request (after dropping
  /// what waits in `self`'s mailbox, e.g. errors answering junk).
  bool alive(const caf::actor& hdl) {
    run();
    for (bool more = true; more;)
      self->receive([](caf::error&) {}, [](record&) {},
                    caf::after(std::chrono::seconds(0)) >> [&] { more = false; });
    self->send(hdl, stats_atom::value);
    run();
    return receive_as<record>().has_value();
  }

  entry make_entry(uint32_t partition, int key) {
    entry x;
    x.partition = partition;
    x.value = packed::pack(record::array({key, "v"}), layout).first;
    return x;
  }

  record_layout layout;
  std::vector<std::shared_ptr<table>> tables;
  std::vector<caf::actor> partitions;
  caf::actor buf;
};

struct swapped_fixture : guard_fixture {
  swapped_fixture() : guard_fixture(true) {
    // nop
  }
};

} // namespace

TEST_CASE_FIXTURE(guard_fixture,
                  "a buffer refuses and counts an entry whose partition is "
                  "out of range, and keeps working") {
  auto refused = counters->refused.load();
  caf::anon_send(buf, make_entry(1'000'000, 1));
  caf::anon_send(buf, make_entry(2, 2));
  run_streams();
  CHECK_EQ(counters->refused.load() - refused, 2u);
  REQUIRE(alive(buf));
  put(100);
  CHECK_EQ(stored(), 100u);
}

TEST_CASE_FIXTURE(guard_fixture,
                  "a buffer refuses an entry, a stop and a reopen that "
                  "arrive as a peer's anonymous messages") {
  auto refused = counters->refused.load();
  caf::anon_send(buf, caf::make_message(make_entry(0, 1)));
  caf::anon_send(buf, caf::make_message(stop_atom::value));
  caf::anon_send(buf, caf::make_message(reopen_atom::value, uint32_t{0},
                                        partitions[1]));
  run_streams();
  CHECK_EQ(counters->refused.load() - refused, 3u);
  CHECK_EQ(stored(), 0u);
  // Still streaming to both partitions, and not stopping.
  put(100);
  CHECK_EQ(stored(), 100u);
  CHECK_GT(tables[0]->size(), 0u);
  CHECK_GT(tables[1]->size(), 0u);
}

TEST_CASE_FIXTURE(swapped_fixture,
                  "a partition refuses and counts records for another "
                  "partition and stores none of them") {
  auto refused = counters->refused_records.load();
  put(100);
  CHECK_EQ(stored(), 0u);
  CHECK_EQ(counters->refused_records.load() - refused, 100u);
}

TEST_CASE_FIXTURE(guard_fixture,
                  "exits without a local sender, kill included, stop neither "
                  "a partition nor a buffer; a local exit does") {
  auto refused = counters->refused.load();
  for (auto reason :
       {caf::exit_reason::kill, caf::exit_reason::user_shutdown}) {
    caf::anon_send_exit(partitions[0], reason);
    caf::anon_send_exit(buf, reason);
  }
  run_streams();
  CHECK_EQ(counters->refused.load() - refused, 4u);
  CHECK(alive(partitions[0]));
  CHECK(alive(buf));
  put(10);
  CHECK_EQ(stored(), 10u);
  send_local_exit(partitions[0], caf::exit_reason::kill);
  run_streams();
  CHECK_FALSE(alive(partitions[0]));
}

TEST_CASE_FIXTURE(guard_fixture,
                  "a message no handler expects is counted as unexpected and "
                  "answered with an error") {
  auto unexpected = counters->unexpected.load();
  self->send(partitions[1], std::string{"junk"});
  self->send(buf, 1, 2, 3);
  run();
  CHECK_EQ(counters->unexpected.load() - unexpected, 2u);
  CHECK(alive(partitions[1]));
  CHECK(alive(buf));
}

TEST_CASE_FIXTURE(guard_fixture,
                  "an error message stops neither a partition nor a buffer: "
                  "it is counted as unexpected") {
  auto unexpected = counters->unexpected.load();
  auto err = caf::make_error(caf::sec::unexpected_message);
  self->send(partitions[0], err);
  caf::anon_send(buf, err);
  run_streams();
  CHECK_EQ(counters->unexpected.load() - unexpected, 2u);
  CHECK(alive(partitions[0]));
  CHECK(alive(buf));
  put(10);
  CHECK_EQ(stored(), 10u);
}

TEST_CASE_FIXTURE(guard_fixture,
                  "a down message that names a live partition but was not "
                  "sent by it is refused: the buffer keeps streaming to it") {
  auto refused = counters->refused.load();
  caf::down_msg forged{partitions[0].address(),
                       caf::exit_reason::kill};
  caf::anon_send(buf, caf::make_message(forged));
  self->send(buf, forged);
  run_streams();
  CHECK_EQ(counters->refused.load() - refused, 2u);
  put(100);
  CHECK_EQ(stored(), 100u);
  CHECK(alive(partitions[0]));
}

TEST_CASE_FIXTURE(guard_fixture,
                  "a partition refuses a put of a record whose partition "
                  "element picks another partition, and stores none") {
  // Keys 0 .. 9 over the two partitions: each put goes to the other one.
  int refused = 0;
  for (int i = 0; i < 10; ++i) {
    auto x = record::array({i, "v"});
    auto owner = partition_of(x, layout, 2);
    self->send(partitions[1 - owner], caf::put_atom::value, x);
    run();
    if (receive_error() == errc::invalid_record)
      ++refused;
  }
  CHECK_EQ(refused, 10);
  CHECK_EQ(stored(), 0u);
}
