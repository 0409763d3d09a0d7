// A buffer whose partition is replaced while the stream handshake to it is
// pending, on the test coordinator, one actor step at a time: the dead
// partition's late stream messages must not reach its replacement's path.

#include <doctest/doctest.h>

#include "tests/fixture.hpp"

using namespace supercache;

namespace {

struct reopen_fixture : testing::fixture {
  caf::actor spawn_partition(std::shared_ptr<table> data) {
    return sys.spawn(cache_actor, uint32_t{0}, uint32_t{1}, std::move(data),
                     std::shared_ptr<counter_board>{}, guard_counters_ptr{});
  }

  /// Runs the next job of `hdl` alone.
  void step(const caf::actor& hdl) {
    REQUIRE(sched.prioritize(hdl));
    sched.run_once();
  }

  ~reopen_fixture() {
    for (auto& hdl : {buf, replacement})
      if (hdl)
        send_local_exit(hdl, caf::exit_reason::user_shutdown);
    run_streams();
  }

  record_layout layout;
  caf::actor buf;
  caf::actor replacement;
};

} // namespace

TEST_CASE_FIXTURE(reopen_fixture,
                  "a partition replaced before it answered the stream "
                  "handshake cannot end its replacement's stream with the "
                  "messages it sends while dying") {
  auto old_table = std::make_shared<table>(table_type::set, layout);
  auto new_table = std::make_shared<table>(table_type::set, layout);
  auto old_partition = spawn_partition(old_table);
  replacement = spawn_partition(new_table);
  buf = sys.spawn(buffer_actor, std::vector<caf::actor>{old_partition},
                  buffer_settings{layout});
  // The buffer opens its path: the handshake waits in the old partition's
  // mailbox.
  step(buf);
  // The replacement is announced before the old partition ran: the buffer
  // drops the pending path and opens one to the replacement.
  self->send(buf, reopen_atom::value, uint32_t{0}, replacement);
  step(buf);
  // Now the old partition takes the handshake (it answers with ack_open on
  // the dropped path's slot) and is killed (its sink sends forced_drop on
  // that slot).
  step(old_partition);
  send_local_exit(old_partition, caf::exit_reason::kill);
  while (sched.prioritize(old_partition))
    sched.run_once();
  // Everything runs: the late messages reach the buffer, then records and a
  // flush follow.
  run_streams();
  for (int64_t i = 0; i < 100; ++i)
    self->send(buf, caf::put_atom::value, testing::make_record(i));
  self->send(buf, caf::flush_atom::value);
  run_streams();
  for (int64_t i = 0; i < 100; ++i)
    CHECK(receive_as<caf::ok_atom>().has_value());
  CHECK(receive_as<caf::ok_atom>().has_value()); // the flush
  CHECK_EQ(new_table->size(), 100u);
  CHECK_EQ(old_table->size(), 0u);
}
