// Actor-level tests of a cache partition on the test coordinator: the
// put/get/size messages and how a partition stops.

#include <doctest/doctest.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "tests/fixture.hpp"

using namespace supercache;

namespace {

/// One cache partition over its own table, on the test coordinator.
struct cache_fixture : testing::fixture {
  explicit cache_fixture(table_type type = table_type::set,
                         record_layout layout = record_layout{})
    : data(std::make_shared<table>(type, layout)),
      cache(sys.spawn(cache_actor, uint32_t{0}, uint32_t{1}, data,
                      std::shared_ptr<counter_board>{}, guard_counters_ptr{})) {
    run();
  }

  ~cache_fixture() {
    send_local_exit(cache, caf::exit_reason::user_shutdown);
    run();
  }

  /// Sends `(get_atom, pattern)` and returns the records of the reply.
  std::vector<record> get(const record& pattern) {
    self->send(cache, caf::get_atom::value, pattern);
    run();
    auto result = receive_as<std::vector<record>>();
    REQUIRE(result.has_value());
    return *result;
  }

  std::shared_ptr<table> data;
  caf::actor cache;
};

struct bag_fixture : cache_fixture {
  bag_fixture() : cache_fixture(table_type::bag) {
    // nop
  }
};

record make_record(int key, const char* value) {
  return record::array({key, value});
}

std::string key(int k) {
  return key_of(record::array({k}), record_layout{});
}

} // namespace

TEST_CASE_FIXTURE(cache_fixture,
                  "a put to a cache partition is answered with ok_atom and "
                  "stores the record in its table") {
  self->send(cache, caf::put_atom::value, make_record(1, "a"));
  run();
  CHECK(receive_as<caf::ok_atom>().has_value());
  CHECK_EQ(data->size(), 1u);
  auto found = data->get(key(1));
  REQUIRE_EQ(found.size(), 1u);
  CHECK_EQ(found.front(), make_record(1, "a"));
}

TEST_CASE_FIXTURE(cache_fixture,
                  "a put of the same key to a set partition replaces the "
                  "record") {
  self->send(cache, caf::put_atom::value, make_record(1, "a"));
  self->send(cache, caf::put_atom::value, make_record(1, "b"));
  run();
  CHECK(receive_as<caf::ok_atom>().has_value());
  CHECK(receive_as<caf::ok_atom>().has_value());
  CHECK_EQ(data->size(), 1u);
  auto found = data->get(key(1));
  REQUIRE_EQ(found.size(), 1u);
  CHECK_EQ(found.front(), make_record(1, "b"));
}

TEST_CASE_FIXTURE(cache_fixture,
                  "a cache partition rejects an invalid record with "
                  "invalid_record and stores nothing") {
  self->send(cache, caf::put_atom::value, record{{"not", "an array"}});
  self->send(cache, caf::put_atom::value, record::array());
  self->send(cache, caf::put_atom::value, record("[1]"));
  run();
  CHECK_EQ(receive_error(), errc::invalid_record);
  CHECK_EQ(receive_error(), errc::invalid_record);
  CHECK_EQ(receive_error(), errc::invalid_record);
  CHECK(self->mailbox().empty());
  CHECK_EQ(data->size(), 0u);
}

TEST_CASE("a cache partition rejects a record too short for its layout") {
  cache_fixture f{table_type::set, record_layout{2, 1}};
  f.self->send(f.cache, caf::put_atom::value, make_record(1, "a"));
  f.self->send(f.cache, caf::put_atom::value,
               record::array({1, "a", "key"}));
  f.run();
  CHECK_EQ(f.receive_error(), errc::invalid_record);
  CHECK(f.receive_as<caf::ok_atom>().has_value());
  CHECK_EQ(f.data->size(), 1u);
  CHECK_EQ(f.data->get(key_of(record::array({0, 0, "key"}), {2, 1})).size(),
           1u);
}

TEST_CASE_FIXTURE(cache_fixture,
                  "a get is answered with the stored record of the pattern's "
                  "key") {
  self->send(cache, caf::put_atom::value, make_record(1, "a"));
  self->send(cache, caf::put_atom::value, make_record(2, "b"));
  run();
  REQUIRE(receive_as<caf::ok_atom>().has_value());
  REQUIRE(receive_as<caf::ok_atom>().has_value());
  auto found = get(record::array({1}));
  REQUIRE_EQ(found.size(), 1u);
  CHECK_EQ(found.front(), make_record(1, "a"));
  // A pattern may be a whole record; only its key counts.
  found = get(make_record(2, "ignored"));
  REQUIRE_EQ(found.size(), 1u);
  CHECK_EQ(found.front(), make_record(2, "b"));
}

TEST_CASE_FIXTURE(cache_fixture, "a get of a missing key is answered with no "
                                 "records") {
  self->send(cache, caf::put_atom::value, make_record(1, "a"));
  run();
  REQUIRE(receive_as<caf::ok_atom>().has_value());
  CHECK(get(record::array({3})).empty());
  CHECK(get(record::array({"1"})).empty());
}

TEST_CASE_FIXTURE(cache_fixture,
                  "a get with an invalid pattern is answered with "
                  "invalid_record") {
  self->send(cache, caf::get_atom::value, record::array());
  self->send(cache, caf::get_atom::value, record(1));
  run();
  CHECK_EQ(receive_error(), errc::invalid_record);
  CHECK_EQ(receive_error(), errc::invalid_record);
  CHECK(self->mailbox().empty());
}

TEST_CASE_FIXTURE(cache_fixture,
                  "size is answered with the number of stored records as "
                  "uint64_t") {
  self->send(cache, size_atom::value);
  run();
  auto n = receive_as<uint64_t>();
  REQUIRE(n.has_value());
  CHECK_EQ(*n, 0u);
  for (int i = 0; i < 5; ++i)
    self->send(cache, caf::put_atom::value, make_record(i, "a"));
  self->send(cache, caf::put_atom::value, make_record(0, "b")); // replaces
  self->send(cache, size_atom::value);
  run();
  for (int i = 0; i < 6; ++i)
    REQUIRE(receive_as<caf::ok_atom>().has_value());
  n = receive_as<uint64_t>();
  REQUIRE(n.has_value());
  CHECK_EQ(*n, 5u);
}

TEST_CASE_FIXTURE(bag_fixture,
                  "a bag partition keeps the distinct records of a key") {
  self->send(cache, caf::put_atom::value, make_record(1, "a"));
  self->send(cache, caf::put_atom::value, make_record(1, "b"));
  self->send(cache, caf::put_atom::value, make_record(1, "a"));
  self->send(cache, caf::put_atom::value, make_record(2, "a"));
  self->send(cache, size_atom::value);
  run();
  for (int i = 0; i < 4; ++i)
    REQUIRE(receive_as<caf::ok_atom>().has_value());
  auto n = receive_as<uint64_t>();
  REQUIRE(n.has_value());
  CHECK_EQ(*n, 3u);
  auto found = get(record::array({1}));
  REQUIRE_EQ(found.size(), 2u);
  CHECK_EQ(found[0], make_record(1, "a"));
  CHECK_EQ(found[1], make_record(1, "b"));
  CHECK_EQ(get(record::array({2})).size(), 1u);
}

TEST_CASE_FIXTURE(cache_fixture,
                  "an exit with user_shutdown terminates a cache partition") {
  self->send(cache, caf::put_atom::value, make_record(1, "a"));
  run();
  REQUIRE(receive_as<caf::ok_atom>().has_value());
  self->monitor(cache);
  self->send_exit(cache, caf::exit_reason::user_shutdown);
  run();
  auto down = receive_as<caf::down_msg>();
  REQUIRE(down.has_value());
  CHECK_EQ(down->source, cache.address());
  CHECK_EQ(down->reason, caf::exit_reason::user_shutdown);
  // A terminated partition answers nothing; its table keeps the data.
  self->send(cache, size_atom::value);
  run();
  CHECK_FALSE(receive_as<uint64_t>().has_value());
  CHECK_EQ(data->size(), 1u);
}
