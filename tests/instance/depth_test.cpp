// The nesting limit on the instance's entry paths (`lazy_put`, `put`, a
// buffer's `put_atom`), and a record that its cache partition cannot decode:
// refused alone, counted back to its buffer as lost.

#include <doctest/doctest.h>

#include <memory>

#include <supercache/errc.hpp>
#include <supercache/supercache.hpp>

#include "actors/buffer.hpp"
#include "actors/cache.hpp"
#include "core/table.hpp"
#include "tests/fixture.hpp"

using namespace supercache;

namespace {

/// Returns `[key, [[...[1]...]]]` nested `depth` levels deep in all.
record nested_record(int64_t key, size_t depth) {
  record inner = 1;
  for (size_t i = 1; i < depth; ++i) {
    auto outer = record::array();
    outer.push_back(std::move(inner));
    inner = std::move(outer);
  }
  auto result = record::array({key});
  result.push_back(std::move(inner));
  return result;
}

/// Sends `(put_atom, x)` to buffer 1 and returns the error of its reply.
caf::error put_to_buffer(caf::actor_system& sys, record x) {
  caf::scoped_actor self{sys};
  caf::error result;
  self
    ->request(testing::registered(sys, buffer::name(1)),
              std::chrono::seconds(10), caf::put_atom::value, std::move(x))
    .receive([](caf::ok_atom) {},
             [&](caf::error& err) { result = std::move(err); });
  return result;
}

} // namespace

TEST_CASE("lazy_put, put and a buffer's put_atom store a record at the depth "
          "limit and refuse one level deeper, or 100,000 deep, as "
          "invalid_record without accepting it") {
  testing::threaded_config cfg;
  caf::actor_system sys{cfg};
  testing::facade_stopper stopper;
  REQUIRE_EQ(start(sys), caf::none);
  CHECK_EQ(lazy_put(nested_record(1, max_record_depth)), caf::none);
  CHECK_EQ(put(nested_record(2, max_record_depth)), caf::none);
  CHECK_EQ(put_to_buffer(sys, nested_record(3, max_record_depth)),
           caf::none);
  for (auto depth : {max_record_depth + 1, size_t{100000}}) {
    CAPTURE(depth);
    CHECK_EQ(lazy_put(nested_record(4, depth)), errc::invalid_record);
    CHECK_EQ(put(nested_record(5, depth)), errc::invalid_record);
    CHECK_EQ(put_to_buffer(sys, nested_record(6, depth)),
             errc::invalid_record);
  }
  REQUIRE_EQ(flush(), caf::none);
  CHECK_EQ(*size(), 3u);
  for (int64_t key = 1; key <= 3; ++key)
    CHECK_EQ(get(record::array({key}))->size(), 1u);
  auto st = stats();
  REQUIRE(st);
  CHECK_EQ((*st)["enqueued"], 2);
  CHECK_EQ((*st)["lost"], 0);
  REQUIRE_EQ(stop(), caf::none);
}

TEST_CASE_FIXTURE(testing::fixture,
                  "a record its partition cannot decode is refused alone: "
                  "the rest of its batch is stored and its buffer counts it "
                  "as lost") {
  record_layout layout;
  auto tbl = std::make_shared<table>(table_type::set, layout);
  auto part = sys.spawn(cache_actor, uint32_t{0}, uint32_t{1}, tbl,
                        std::shared_ptr<counter_board>{}, guard_counters_ptr{});
  buffer_settings settings{layout};
  settings.counters = std::make_shared<buffer_counters>();
  auto& ctr = *settings.counters;
  auto buf = sys.spawn(buffer_actor, std::vector<caf::actor>{part}, settings);
  run_streams();
  for (int64_t i = 0; i < 100; ++i) {
    caf::anon_send(buf, caf::put_atom::value, testing::make_record(i));
    if (i == 50) {
      // What the deserializer makes of a block that fails its checks (see
      // the forged batch in tests/core/depth_test.cpp), accepted like a
      // lazy_put.
      ctr.enqueued.fetch_add(1);
      caf::anon_send(buf, entry{0, 0, packed{}, 0});
    }
  }
  self->send(buf, caf::flush_atom::value);
  run_streams();
  CHECK(receive_as<caf::ok_atom>().has_value());
  CHECK_EQ(tbl->size(), 100u);
  CHECK_EQ(ctr.enqueued.load(), 101u);
  CHECK_EQ(ctr.lost.load(), 1u);
  CHECK_EQ(tbl->size() + ctr.lost.load() + ctr.dropped.load(),
           ctr.enqueued.load());
  send_local_exit(buf, caf::exit_reason::user_shutdown);
  send_local_exit(part, caf::exit_reason::user_shutdown);
  run_streams();
}
