// Actor-level tests of the buffer on the test coordinator, streams included.

#include <doctest/doctest.h>

#include "tests/fixture.hpp"

using namespace supercache;

namespace {

/// Two cache partitions and one buffer streaming into them, on the test
/// coordinator.
struct buffer_fixture : testing::fixture {
  buffer_fixture() {
    for (int i = 0; i < 2; ++i) {
      tables.push_back(std::make_shared<table>(table_type::set, layout));
      partitions.push_back(sys.spawn(cache_actor, static_cast<uint32_t>(i),
                                     uint32_t{2}, tables.back(),
                                     std::shared_ptr<counter_board>{},
                                     guard_counters_ptr{}));
    }
    buf = sys.spawn(buffer_actor, partitions, buffer_settings{layout});
    run_streams();
  }

  ~buffer_fixture() {
    for (auto& hdl : partitions)
      send_local_exit(hdl, caf::exit_reason::user_shutdown);
    send_local_exit(buf, caf::exit_reason::user_shutdown);
    run_streams();
  }

  size_t stored() const {
    size_t result = 0;
    for (auto& tbl : tables)
      result += tbl->size();
    return result;
  }

  /// Runs one step at a time until `self` has a message; returns the number
  /// of records stored at that moment.
  size_t stored_when_self_has_mail() {
    for (size_t i = 0; i < 100000 && self->mailbox().empty(); ++i)
      if (!sched.try_run_once())
        sched.clock().trigger_timeout();
    REQUIRE_FALSE(self->mailbox().empty());
    return stored();
  }

  record_layout layout;
  std::vector<std::shared_ptr<table>> tables;
  std::vector<caf::actor> partitions;
  caf::actor buf;
};

record make_record(int key, int value) {
  return record::array({key, "value-" + std::to_string(value)});
}

} // namespace

TEST_CASE_FIXTURE(buffer_fixture,
                  "a buffer streams every put record into its partition") {
  for (int i = 0; i < 1000; ++i)
    caf::anon_send(buf, caf::put_atom::value, make_record(i, i));
  run_streams();
  CHECK_EQ(stored(), 1000u);
  for (int i = 0; i < 1000; ++i) {
    auto x = make_record(i, i);
    auto p = partition_of(x, layout, tables.size());
    auto found = tables[p]->get(key_of(x, layout));
    REQUIRE_EQ(found.size(), 1u);
    CHECK_EQ(found.front(), x);
  }
}

TEST_CASE_FIXTURE(buffer_fixture,
                  "a put to a buffer is answered with ok_atom") {
  self->send(buf, caf::put_atom::value, make_record(1, 1));
  run_streams();
  CHECK(receive_as<caf::ok_atom>().has_value());
}

TEST_CASE_FIXTURE(buffer_fixture,
                  "flush is answered only once every earlier record is "
                  "visible") {
  for (int i = 0; i < 500; ++i)
    caf::anon_send(buf, caf::put_atom::value, make_record(i, i));
  self->send(buf, caf::flush_atom::value);
  CHECK_EQ(stored_when_self_has_mail(), 500u);
  CHECK(receive_as<caf::ok_atom>().has_value());
}

TEST_CASE_FIXTURE(buffer_fixture,
                  "records from one sender are applied in order so the last "
                  "put of a key wins") {
  for (int i = 0; i < 1000; ++i)
    caf::anon_send(buf, caf::put_atom::value, make_record(7, i));
  self->send(buf, caf::flush_atom::value);
  stored_when_self_has_mail();
  auto x = make_record(7, 999);
  auto p = partition_of(x, layout, tables.size());
  auto found = tables[p]->get(key_of(x, layout));
  REQUIRE_EQ(found.size(), 1u);
  CHECK_EQ(found.front(), x);
}

TEST_CASE_FIXTURE(buffer_fixture,
                  "a buffer rejects an invalid record and stores nothing") {
  self->send(buf, caf::put_atom::value, record{{"not", "an array"}});
  self->send(buf, caf::put_atom::value, record::array());
  run_streams();
  CHECK_EQ(receive_error(), errc::invalid_record);
  CHECK_EQ(receive_error(), errc::invalid_record);
  CHECK_EQ(stored(), 0u);
}

TEST_CASE_FIXTURE(buffer_fixture,
                  "stop drains every record, replies ok and terminates the "
                  "buffer") {
  self->monitor(buf);
  for (int i = 0; i < 300; ++i)
    caf::anon_send(buf, caf::put_atom::value, make_record(i, i));
  self->send(buf, stop_atom::value);
  CHECK_EQ(stored_when_self_has_mail(), 300u);
  CHECK(receive_as<caf::ok_atom>().has_value());
  run_streams();
  CHECK(receive_as<caf::down_msg>().has_value());
}

TEST_CASE_FIXTURE(buffer_fixture,
                  "a stopping buffer answers put with not_started") {
  self->send(buf, stop_atom::value);
  self->send(buf, caf::put_atom::value, make_record(1, 1));
  // The put arrives while the stop's barrier is still on its way.
  run_streams();
  CHECK_EQ(receive_error(), errc::not_started);
  CHECK(receive_as<caf::ok_atom>().has_value()); // the stop
  CHECK_EQ(stored(), 0u);
}
