// Unit tests of copying a table to another (a rejoin's copy, see
// core/table_copy.cpp): ages out of `for_each_aged`, into `insert_copied`,
// on one simulated clock (CAF's test clock, advanced by the test).

#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <caf/detail/test_actor_clock.hpp>

#include "core/table.hpp"

using namespace supercache;
using namespace std::chrono_literals;

namespace {

std::string key(int k) {
  return key_of(record::array({k}), record_layout{});
}

/// Two tables, the original and its copy, on one simulated clock.
struct two_tables {
  explicit two_tables(table_limits limits) {
    limits.clock = &clock;
    original = std::make_unique<table>(table_type::set, record_layout{},
                                       limits);
    copy = std::make_unique<table>(table_type::set, record_layout{}, limits);
  }

  void advance(caf::timespan x) {
    clock.current_time += x;
  }

  /// Copies `original` into `copy` as a leader and its follower do: the
  /// scan's records in order, each entry carrying its age.
  std::vector<int> copy_over() {
    std::vector<entry> xs;
    std::vector<int> keys;
    original->for_each_aged([&](const record& x, caf::timespan age) {
      entry y;
      y.value = packed::pack(x, record_layout{}).first;
      y.enqueued_ns = age.count();
      xs.push_back(std::move(y));
      keys.push_back(x.at(0).get<int>());
    });
    copy->insert_copied(xs);
    return keys;
  }

  caf::detail::test_actor_clock clock;
  std::unique_ptr<table> original;
  std::unique_ptr<table> copy;
};

} // namespace

TEST_CASE("a copied record expires when the original does, not ttl after "
          "the copy") {
  two_tables t{{10s, 0}};
  t.original->insert(record::array({1, "a"}));
  t.advance(6s);
  t.original->insert(record::array({2, "b"}));
  t.copy_over();
  CHECK_EQ(t.copy->size(), 2u);
  t.advance(3s); // 9 s after 1 was written
  CHECK_EQ(t.copy->get(key(1)).size(), 1u);
  t.advance(1s); // 10 s: 1 expired on both, 2 on neither
  CHECK(t.original->get(key(1)).empty());
  CHECK(t.copy->get(key(1)).empty());
  CHECK_EQ(t.copy->get(key(2)).size(), 1u);
  CHECK_EQ(t.copy->size(), 1u);
  t.advance(6s); // 2 expired too
  CHECK_EQ(t.copy->size(), 0u);
}

TEST_CASE("the copy's scan gives the oldest write first, so the copy evicts "
          "in the original's order") {
  two_tables t{{0s, 3}};
  for (int k : {5, 3, 9}) {
    t.original->insert(record::array({k, "v"}));
    t.advance(1s);
  }
  t.original->insert(record::array({5, "again"})); // 5 is now the newest
  CHECK_EQ(t.copy_over(), (std::vector<int>{3, 9, 5}));
  t.copy->insert(record::array({7, "new"})); // at the bound: evicts 3
  CHECK(t.copy->get(key(3)).empty());
  CHECK_EQ(t.copy->get(key(9)).size(), 1u);
  CHECK_EQ(t.copy->get(key(5)).size(), 1u);
  CHECK_EQ(t.copy->evicted(), 1u);
}

TEST_CASE("a copied record already past ttl, or with a negative age from a "
          "peer, is counted expired or stored as new") {
  two_tables t{{10s, 0}};
  std::vector<entry> xs(2);
  xs[0].value = packed::pack(record::array({1, "old"}), record_layout{}).first;
  xs[0].enqueued_ns = std::chrono::nanoseconds{10s}.count();
  xs[1].value = packed::pack(record::array({2, "odd"}), record_layout{}).first;
  xs[1].enqueued_ns = -1;
  CHECK_EQ(t.copy->insert_copied(xs), 1u);
  CHECK(t.copy->get(key(1)).empty());
  CHECK_EQ(t.copy->expired(), 1u);
  t.advance(9s);
  CHECK_EQ(t.copy->get(key(2)).size(), 1u);
}

TEST_CASE("without ttl or max-records a copy scans every record with age "
          "0 and stores every one") {
  two_tables t{{0s, 0}};
  for (int k = 0; k < 100; ++k)
    t.original->insert(record::array({k, "v"}));
  t.advance(5s);
  auto ages_zero = true;
  t.original->for_each_aged([&](const record&, caf::timespan age) {
    ages_zero = ages_zero && age.count() == 0;
  });
  CHECK(ages_zero);
  CHECK_EQ(t.copy_over().size(), 100u);
  CHECK_EQ(t.copy->size(), 100u);
}

TEST_CASE("insert_copied applies forwarded erases in order with the records "
          "around them") {
  two_tables t{{0s, 0}};
  std::vector<entry> xs(3);
  xs[0].value = packed::pack(record::array({1, "a"}), record_layout{}).first;
  xs[1].value = packed::pack(record::array({1}), record_layout{}).first;
  xs[1].erase = true;
  xs[2].value = packed::pack(record::array({2, "b"}), record_layout{}).first;
  CHECK_EQ(t.copy->insert_copied(xs), 3u);
  CHECK(t.copy->get(key(1)).empty());
  CHECK_EQ(t.copy->get(key(2)).size(), 1u);
}
