// Unit tests of a table's expiry (`ttl`) and size bound (`max-records`) on
// a simulated clock: CAF's test clock, advanced by the test.

#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <caf/detail/test_actor_clock.hpp>

#include "core/table.hpp"

using namespace supercache;
using namespace std::chrono_literals;

namespace {

record make_record(int key, const std::string& value) {
  return record::array({key, value});
}

std::string key(int k) {
  return key_of(record::array({k}), record_layout{});
}

entry record_entry(int k, const std::string& value) {
  return entry{0, 0,
               packed::pack(make_record(k, value), record_layout{}).first};
}

/// A simulated clock and a table that reads it.
struct clocked {
  explicit clocked(table_limits limits, table_type type = table_type::set)
    : tbl(type, record_layout{}, with_clock(limits)) {
    // nop
  }

  table_limits with_clock(table_limits limits) {
    limits.clock = &clock;
    return limits;
  }

  void advance(caf::timespan x) {
    clock.current_time += x;
  }

  caf::detail::test_actor_clock clock;
  table tbl;
};

} // namespace

// -- expiry -------------------------------------------------------------------

TEST_CASE("a record is visible to get and size until ttl after its write "
          "and invisible to both at ttl") {
  clocked t{{1s, 0}};
  t.tbl.insert(make_record(1, "a"));
  t.advance(999ms);
  CHECK_EQ(t.tbl.get(key(1)).size(), 1u);
  CHECK_EQ(t.tbl.size(), 1u);
  CHECK_EQ(t.tbl.expired(), 0u);
  t.advance(1ms);
  CHECK(t.tbl.get(key(1)).empty()); // before any reclaim
  CHECK_EQ(t.tbl.size(), 0u);
  CHECK_EQ(t.tbl.expired(), 1u);
  CHECK_EQ(t.tbl.order_entries(), 0u);
}

TEST_CASE("writing a record again extends its life to ttl after that write, "
          "in a set and in a bag") {
  for (auto type : {table_type::set, table_type::bag}) {
    CAPTURE(to_string(type));
    clocked t{{1s, 0}, type};
    t.tbl.insert(make_record(1, "a"));
    t.advance(600ms);
    t.tbl.insert(make_record(1, "a")); // identical: renews a bag's record too
    t.advance(600ms);
    CHECK_EQ(t.tbl.get(key(1)).size(), 1u);
    CHECK_EQ(t.tbl.size(), 1u);
    t.advance(399ms);
    CHECK_EQ(t.tbl.get(key(1)).size(), 1u);
    t.advance(1ms);
    CHECK(t.tbl.get(key(1)).empty());
    CHECK_EQ(t.tbl.size(), 0u);
    CHECK_EQ(t.tbl.expired(), 1u);
  }
}

TEST_CASE("reclaim removes exactly the expired records, counts them and "
          "frees their bytes") {
  clocked t{{1s, 0}};
  std::vector<entry> batch;
  // Values too long to be held inline: their heap blocks count in bytes().
  for (int i = 0; i < 100; ++i)
    batch.push_back(record_entry(i, "old" + std::string(30, '.')));
  t.tbl.insert(batch);
  auto bytes_with_old = t.tbl.bytes();
  t.advance(500ms);
  batch.clear();
  for (int i = 100; i < 150; ++i)
    batch.push_back(record_entry(i, "new"));
  t.tbl.insert(batch);
  t.advance(500ms);
  CHECK_FALSE(t.tbl.reclaim(1000));
  CHECK_EQ(t.tbl.expired(), 100u);
  CHECK_EQ(t.tbl.order_entries(), 50u);
  CHECK_LT(t.tbl.bytes(), bytes_with_old);
  CHECK_EQ(t.tbl.size(), 50u);
  for (int i = 0; i < 150; ++i)
    CHECK_EQ(t.tbl.get(key(i)).size(), i < 100 ? 0u : 1u);
}

TEST_CASE("reclaim pops at most its chunk per call and says whether more "
          "are due") {
  clocked t{{1s, 0}};
  for (int i = 0; i < 10; ++i)
    t.tbl.insert(make_record(i, "x"));
  t.advance(1s);
  CHECK(t.tbl.reclaim(4));
  CHECK_EQ(t.tbl.expired(), 4u);
  CHECK(t.tbl.reclaim(4));
  CHECK_FALSE(t.tbl.reclaim(4));
  CHECK_EQ(t.tbl.expired(), 10u);
  CHECK_EQ(t.tbl.order_entries(), 0u);
}

TEST_CASE("a record written again after it expired but before it was "
          "removed counts as expired once and lives again") {
  clocked t{{1s, 0}};
  t.tbl.insert(make_record(1, "a"));
  t.advance(1s);
  t.tbl.insert(make_record(1, "b"));
  CHECK_EQ(t.tbl.expired(), 1u);
  auto found = t.tbl.get(key(1));
  REQUIRE_EQ(found.size(), 1u);
  CHECK_EQ(found.front(), make_record(1, "b"));
  CHECK_EQ(t.tbl.size(), 1u);
  t.advance(1s);
  CHECK_EQ(t.tbl.size(), 0u);
  CHECK_EQ(t.tbl.expired(), 2u);
}

// -- size bound ---------------------------------------------------------------

TEST_CASE("a set table at max-records evicts the least recently written "
          "record, rewrites included, and counts it") {
  clocked t{{0s, 3}};
  for (int i = 1; i <= 3; ++i) {
    t.tbl.insert(make_record(i, "v"));
    t.advance(1ms);
  }
  t.tbl.insert(make_record(1, "w")); // 2 is now the least recently written
  t.advance(1ms);
  CHECK_EQ(t.tbl.evicted(), 0u);
  t.tbl.insert(make_record(4, "v"));
  CHECK_EQ(t.tbl.evicted(), 1u);
  CHECK_EQ(t.tbl.size(), 3u);
  CHECK(t.tbl.get(key(2)).empty());
  for (int i : {1, 3, 4})
    CHECK_EQ(t.tbl.get(key(i)).size(), 1u);
  t.advance(1ms);
  t.tbl.insert(make_record(5, "v"));
  CHECK_EQ(t.tbl.evicted(), 2u);
  CHECK(t.tbl.get(key(3)).empty());
  CHECK_EQ(t.tbl.size(), 3u);
}

TEST_CASE("a bag table at max-records evicts the least recently written "
          "record of any key and counts it") {
  clocked t{{0s, 3}, table_type::bag};
  t.tbl.insert(make_record(1, "a"));
  t.advance(1ms);
  t.tbl.insert(make_record(1, "b"));
  t.advance(1ms);
  t.tbl.insert(make_record(2, "a"));
  t.advance(1ms);
  t.tbl.insert(make_record(1, "a")); // renews [1, "a"]
  t.advance(1ms);
  t.tbl.insert(make_record(3, "a")); // evicts [1, "b"]
  CHECK_EQ(t.tbl.evicted(), 1u);
  CHECK_EQ(t.tbl.size(), 3u);
  auto found = t.tbl.get(key(1));
  REQUIRE_EQ(found.size(), 1u);
  CHECK_EQ(found.front(), make_record(1, "a"));
  t.advance(1ms);
  t.tbl.insert(make_record(3, "b")); // evicts [2, "a"]
  CHECK_EQ(t.tbl.evicted(), 2u);
  CHECK(t.tbl.get(key(2)).empty());
  CHECK_EQ(t.tbl.get(key(3)).size(), 2u);
}

TEST_CASE("at max-records a table keeps exactly the records written last and "
          "finds each of them after thousands of evictions") {
  clocked t{{0s, 2000}};
  for (int i = 0; i < 10000; ++i) {
    t.tbl.insert(make_record(i, "v"));
    t.advance(1ms);
  }
  CHECK_EQ(t.tbl.size(), 2000u);
  CHECK_EQ(t.tbl.evicted(), 8000u);
  size_t found = 0;
  for (int i = 0; i < 10000; ++i) {
    auto n = t.tbl.get(key(i)).size();
    CHECK_EQ(n, i < 8000 ? 0u : 1u);
    found += n;
  }
  CHECK_EQ(found, 2000u);
}

TEST_CASE("at max-records expired records go first, counted as expired, "
          "not evicted") {
  clocked t{{1s, 2}};
  t.tbl.insert(make_record(1, "v"));
  t.advance(500ms);
  t.tbl.insert(make_record(2, "v"));
  t.advance(500ms); // 1 expired, 2 live
  t.tbl.insert(make_record(3, "v"));
  CHECK_EQ(t.tbl.expired(), 1u);
  CHECK_EQ(t.tbl.evicted(), 0u);
  CHECK_EQ(t.tbl.size(), 2u);
  t.tbl.insert(make_record(4, "v"));
  CHECK_EQ(t.tbl.evicted(), 1u);
  CHECK(t.tbl.get(key(2)).empty());
}

// -- the write order ----------------------------------------------------------

TEST_CASE("rewrites under a long ttl keep the write order within twice the "
          "records plus its slack") {
  clocked t{{100h, 0}};
  size_t most = 0;
  for (int round = 0; round < 2000; ++round) {
    for (int k = 0; k < 10; ++k)
      t.tbl.insert(make_record(k, std::to_string(round)));
    most = std::max(most, t.tbl.order_entries());
    t.advance(1ms);
  }
  CHECK_EQ(t.tbl.size(), 10u);
  CHECK_LE(most, 2 * 10 + write_order::slack + 1);
  CHECK_GE(most, 1000u); // it did grow, and compaction bounded it
}

TEST_CASE("rewrites within one stamp add no write order entry") {
  clocked t{{0s, 5}};
  for (int round = 0; round < 100; ++round)
    t.tbl.insert(make_record(1, std::to_string(round)));
  CHECK_EQ(t.tbl.order_entries(), 1u);
}

TEST_CASE("a table without ttl and max-records keeps no write order and "
          "never expires a record") {
  clocked t{{0s, 0}};
  t.tbl.insert(make_record(1, "a"));
  t.advance(1000h);
  CHECK_EQ(t.tbl.order_entries(), 0u);
  CHECK_EQ(t.tbl.get(key(1)).size(), 1u);
  CHECK_EQ(t.tbl.size(), 1u);
  CHECK_EQ(t.tbl.reclaim_period(), caf::timespan{0});
}

TEST_CASE("the reclaim period is ttl/8 clamped to 1ms..1s") {
  CHECK_EQ(clocked{{800ms, 0}}.tbl.reclaim_period(), 100ms);
  CHECK_EQ(clocked{{2ms, 0}}.tbl.reclaim_period(), 1ms);
  CHECK_EQ(clocked{{1h, 0}}.tbl.reclaim_period(), 1s);
}
