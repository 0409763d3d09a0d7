// Tests of the instance's erase, lazy_erase, clear, match and for_each:
// exact results on set and bag tables with key-pos and partition-pos other
// than 0, lazy erase order per producer (deterministic and threaded), a
// remote cache node, bad patterns, and readers during writes.

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "actors/messages.hpp"
#include "instance/state.hpp"
#include "tests/fixture.hpp"
#include "tests/loopback.hpp"

using namespace supercache;
using testing::layout_options;
using testing::make_record;
using testing::registered;

namespace {

int64_t counter_of(instance& inst, const char* name) {
  return (*inst.stats())[name].get<int64_t>();
}

/// Returns `xs` sorted (match and for_each give partition order).
std::vector<record> sorted(std::vector<record> xs) {
  std::sort(xs.begin(), xs.end());
  return xs;
}

std::vector<record> visit_all(instance& inst) {
  std::vector<record> xs;
  REQUIRE_EQ(inst.for_each([&](const record& x) { xs.push_back(x); }),
             caf::none);
  return sorted(std::move(xs));
}

/// `[tag, part, key, value]`: key-pos 2, partition-pos 1.
record row(const std::string& tag, int64_t part, int64_t key,
           const std::string& value) {
  return record::array({tag, part, key, value});
}

/// Checks erase, match, for_each and clear of `inst`, started with
/// `layout_options(type)`, with exact results.
void check_calls(instance& inst, table_type type) {
  auto bag = type == table_type::bag;
  for (int64_t k = 0; k < 30; ++k) {
    REQUIRE_EQ(inst.put(row("a", k % 5, k, "v")), caf::none);
    REQUIRE_EQ(inst.put(row("b", k % 5, k, "w")), caf::none);
  }
  // A set keeps the last record of a key, a bag both.
  REQUIRE_EQ(*inst.size(), bag ? 60u : 30u);
  // match: the tag fixed (a scan of every partition).
  auto tagged = inst.match(record::array({"b"}));
  REQUIRE(tagged);
  CHECK_EQ(tagged->size(), 30u);
  for (auto& x : *tagged)
    CHECK_EQ(x[0], "b");
  auto as = inst.match(record::array({"a"}));
  REQUIRE(as);
  CHECK_EQ(as->size(), bag ? 30u : 0u);
  // match: partition and key fixed (one partition, one lookup).
  std::vector<record> want{row("b", 2, 7, "w")};
  if (bag)
    want.insert(want.begin(), row("a", 2, 7, "v"));
  CHECK_EQ(*inst.match(record::array({nullptr, 2, 7})), want);
  CHECK_EQ(*inst.match(record::array({nullptr, 2, 7, "w"})),
           std::vector<record>{row("b", 2, 7, "w")});
  // match: the key fixed, the partition not: every partition's lookup.
  CHECK_EQ(*inst.match(record::array({nullptr, nullptr, 7})), want);
  // match: the value fixed, nothing else.
  CHECK_EQ(inst.match(record::array({nullptr, nullptr, nullptr, "w"}))->size(),
           30u);
  CHECK(inst.match(record::array({"a", nullptr, nullptr, "w"}))->empty());
  CHECK_EQ(inst.match(record::array())->size(), bag ? 60u : 30u);
  // for_each sees every record once.
  auto everything = visit_all(inst);
  CHECK_EQ(everything, sorted(*inst.match(record::array())));
  // erase: the key element as get takes it (partition element too).
  CHECK_EQ(*inst.erase(row("x", 2, 7, "ignored")), bag ? 2u : 1u);
  CHECK_EQ(*inst.erase(row("x", 2, 7, "ignored")), 0u);
  CHECK(inst.get(row("x", 2, 7, ""))->empty());
  CHECK(inst.match(record::array({nullptr, nullptr, 7}))->empty());
  CHECK_EQ(*inst.size(), bag ? 58u : 29u);
  CHECK_EQ(inst.get(row("x", 3, 8, ""))->size(), bag ? 2u : 1u);
  // clear: every partition.
  CHECK_EQ(*inst.clear(), bag ? 58u : 29u);
  CHECK_EQ(*inst.size(), 0u);
  CHECK(visit_all(inst).empty());
  CHECK(inst.match(record::array())->empty());
}

/// Checks the bad patterns of every call of `inst` (started with
/// `layout_options`).
void check_bad_patterns(instance& inst) {
  auto invalid = make_error(errc::invalid_record);
  CHECK_EQ(inst.match(record(5)).error(), invalid);
  CHECK_EQ(inst.match(record{{"a", 1}}).error(), invalid);
  CHECK_EQ(inst.match(record("x")).error(), invalid);
  auto deep = record::array();
  for (size_t i = 0; i < max_record_depth; ++i)
    deep = record::array({deep});
  CHECK_EQ(inst.match(deep).error(), invalid);
  // erase takes the key as get does: key-pos 2 needs 3 elements.
  CHECK_EQ(inst.erase(record::array({1, 2})).error(), invalid);
  CHECK_EQ(inst.erase(record(5)).error(), invalid);
  CHECK_EQ(inst.lazy_erase(record::array({1, 2})), invalid);
  CHECK_EQ(inst.lazy_erase(record{{"a", 1}}), invalid);
  auto err = inst.match(record(5)).error();
  CHECK_NE(to_string(err).find("a pattern must be a JSON array"),
           std::string::npos);
}

} // namespace

TEST_CASE("erase, match, for_each and clear give exact results on a set "
          "table with key-pos 2 and partition-pos 1") {
  testing::threaded_config cfg;
  caf::actor_system sys{cfg};
  testing::facade_stopper stopper;
  instance inst{sys};
  REQUIRE_EQ(inst.start(layout_options(table_type::set)), caf::none);
  check_calls(inst, table_type::set);
  check_bad_patterns(inst);
  CHECK_EQ(counter_of(inst, "erased"), 30);
  REQUIRE_EQ(inst.stop(), caf::none);
}

TEST_CASE("erase, match, for_each and clear give exact results on a bag "
          "table with key-pos 2 and partition-pos 1") {
  testing::threaded_config cfg;
  caf::actor_system sys{cfg};
  testing::facade_stopper stopper;
  instance inst{sys};
  REQUIRE_EQ(inst.start(layout_options(table_type::bag)), caf::none);
  check_calls(inst, table_type::bag);
  CHECK_EQ(counter_of(inst, "erased"), 60);
  REQUIRE_EQ(inst.stop(), caf::none);
}

TEST_CASE("the calls work against a connected cache node, set and bag") {
  for (auto type : {table_type::set, table_type::bag}) {
    testing::loopback_pair net{layout_options(type), layout_options(type)};
    auto& node = net.node;
    auto& producer = net.producer;
    check_calls(producer, type);
    check_bad_patterns(producer);
    // Lazy erases travel the remote stream in order with the records.
    for (int64_t k = 0; k < 100; ++k) {
      REQUIRE_EQ(producer.lazy_put(row("a", k, k, "v")), caf::none);
      if (k % 2 == 0)
        REQUIRE_EQ(producer.lazy_erase(row("", k, k, "")), caf::none);
    }
    REQUIRE_EQ(producer.flush(), caf::none);
    CHECK_EQ(*node.size(), 50u);
    CHECK_EQ(*producer.size(), 50u);
    auto left = producer.match(record::array({"a"}));
    REQUIRE(left);
    CHECK_EQ(left->size(), 50u);
    for (auto& x : *left)
      CHECK_EQ(x[2].get<int64_t>() % 2, 1);
    CHECK_EQ(counter_of(producer, "erases"), 50);
    CHECK_EQ(counter_of(producer, "erased"), (type == table_type::bag ? 60 : 30) + 50);
    REQUIRE_EQ(producer.stop(), caf::none);
    REQUIRE_EQ(node.stop(), caf::none);
  }
}

TEST_CASE_FIXTURE(testing::fixture,
                  "a partition refuses a bad pattern from any actor with "
                  "invalid_record and answers erase, match and clear") {
  REQUIRE_EQ(cache.start(layout_options(table_type::set)), caf::none);
  REQUIRE_EQ(cache.put(row("a", 0, 1, "v")), caf::none);
  auto p = registered(sys, cache_name(
    1 + partition_of(row("a", 0, 1, "v"), record_layout{2, 1}, 3)));
  REQUIRE(p);
  self->send(p, match_atom::value, record(5));
  run();
  CHECK_EQ(receive_error(), make_error(errc::invalid_record));
  self->send(p, erase_atom::value, record::array({1}));
  run();
  CHECK_EQ(receive_error(), make_error(errc::invalid_record));
  self->send(p, match_atom::value, record::array({"a"}));
  run();
  CHECK_EQ(receive_as<std::vector<record>>(),
           std::vector<record>{row("a", 0, 1, "v")});
  self->send(p, erase_atom::value, row("", 0, 1, ""));
  run();
  CHECK_EQ(receive_as<uint64_t>(), 1u);
  REQUIRE_EQ(cache.put(row("a", 0, 1, "v")), caf::none);
  self->send(p, clear_atom::value);
  run();
  CHECK_EQ(receive_as<uint64_t>(), 1u);
  CHECK_EQ(*cache.size(), 0u);
}

TEST_CASE_FIXTURE(testing::fixture,
                  "on the test coordinator a lazy_put then a lazy_erase of a "
                  "key leaves nothing after flush, the reverse the record") {
  auto opts = layout_options(table_type::bag);
  REQUIRE_EQ(cache.start(opts), caf::none);
  for (int64_t k = 0; k < 1000; ++k) {
    auto x = row("t", k % 7, k, "v" + std::to_string(k));
    if (k % 2 == 0) {
      REQUIRE_EQ(cache.lazy_put(x), caf::none);
      REQUIRE_EQ(cache.lazy_erase(x), caf::none);
    } else {
      REQUIRE_EQ(cache.lazy_erase(x), caf::none);
      REQUIRE_EQ(cache.lazy_put(x), caf::none);
    }
  }
  REQUIRE_EQ(cache.flush(), caf::none);
  CHECK_EQ(*cache.size(), 500u);
  for (int64_t k = 0; k < 1000; ++k) {
    auto x = row("t", k % 7, k, "v" + std::to_string(k));
    CHECK_EQ(*cache.get(x),
             k % 2 == 0 ? std::vector<record>{} : std::vector<record>{x});
  }
  // Accounting over operations: every accepted one was applied.
  CHECK_EQ(counter_of(cache, "enqueued"), 2000);
  CHECK_EQ(counter_of(cache, "erases"), 1000);
  CHECK_EQ(counter_of(cache, "written"), 2000);
  CHECK_EQ(counter_of(cache, "pending"), 0);
  CHECK_EQ(counter_of(cache, "erased"), 500);
  // Over records: every put is stored or erased.
  CHECK_EQ(counter_of(cache, "records") + counter_of(cache, "erased"), 1000);
}

TEST_CASE("lazy erases keep each producer thread's order on a threaded "
          "system") {
  testing::threaded_config cfg{2};
  caf::actor_system sys{cfg};
  testing::facade_stopper stopper;
  instance inst{sys};
  options opts;
  opts.buffers = 4;
  opts.partitions = 3;
  opts.max_pending = 1'000'000; // never at the bound: no waits, no rejects
  REQUIRE_EQ(inst.start(opts), caf::none);
  constexpr int64_t per_thread = 20'000;
  std::vector<std::thread> producers;
  std::atomic<int> failures{0};
  for (int64_t t = 0; t < 2; ++t)
    producers.emplace_back([&, t] {
      for (int64_t i = 0; i < per_thread; ++i) {
        auto x = make_record(t * per_thread + i);
        // Even keys: put, erase, put, erase; odd: erase, put.
        auto ok = [&](caf::error err) {
          if (err)
            ++failures;
        };
        if (i % 2 == 0) {
          ok(inst.lazy_put(x));
          ok(inst.lazy_erase(x));
          ok(inst.lazy_put(x));
          ok(inst.lazy_erase(x));
        } else {
          ok(inst.lazy_erase(x));
          ok(inst.lazy_put(x));
        }
      }
    });
  for (auto& t : producers)
    t.join();
  REQUIRE_EQ(failures.load(), 0);
  REQUIRE_EQ(inst.flush(), caf::none);
  CHECK_EQ(*inst.size(), static_cast<size_t>(per_thread));
  auto left = inst.match(record::array());
  REQUIRE(left);
  std::sort(left->begin(), left->end());
  REQUIRE_EQ(left->size(), static_cast<size_t>(per_thread));
  int64_t expected_key = 1;
  for (auto& x : *left) {
    // Odd keys of both threads' ranges (per_thread is even).
    CHECK_EQ(x, make_record(expected_key));
    expected_key += 2;
  }
  CHECK_EQ(counter_of(inst, "enqueued"), 6 * per_thread);
  CHECK_EQ(counter_of(inst, "erases"), 3 * per_thread);
  CHECK_EQ(counter_of(inst, "pending"), 0);
  CHECK_EQ(counter_of(inst, "erased"), 2 * per_thread);
  REQUIRE_EQ(inst.stop(), caf::none);
}

TEST_CASE("get, match and for_each see only whole records while producers "
          "put and erase") {
  testing::threaded_config cfg{2};
  caf::actor_system sys{cfg};
  testing::facade_stopper stopper;
  instance inst{sys};
  options opts;
  opts.buffers = 2;
  opts.partitions = 2;
  opts.max_pending = 1'000'000;
  REQUIRE_EQ(inst.start(opts), caf::none);
  std::atomic<bool> done{false};
  std::atomic<int> bad{0};
  std::atomic<int64_t> reads{0};
  auto check = [&](const record& x) {
    if (!x.is_array() || x.size() != 2 || !x[0].is_number_integer()
        || x != make_record(x[0].get<int64_t>()))
      ++bad;
  };
  std::vector<std::thread> readers;
  for (int kind = 0; kind < 3; ++kind)
    readers.emplace_back([&, kind] {
      int64_t i = 0;
      while (!done.load()) {
        if (kind == 0) {
          if (auto xs = inst.get(make_record(i++ % 5000)))
            for (auto& x : *xs)
              check(x);
        } else if (kind == 1) {
          if (auto xs = inst.match(record::array({nullptr, nullptr})))
            for (auto& x : *xs)
              check(x);
        } else {
          inst.for_each(check);
        }
        ++reads;
      }
    });
  for (int64_t round = 0; round < 20; ++round) {
    for (int64_t k = 0; k < 5000; ++k)
      REQUIRE_EQ(inst.lazy_put(make_record(k)), caf::none);
    for (int64_t k = round % 2; k < 5000; k += 2)
      if (round % 3 == 0)
        REQUIRE_EQ(*inst.erase(make_record(k)) <= 1, true);
      else
        REQUIRE_EQ(inst.lazy_erase(make_record(k)), caf::none);
    if (round == 10)
      REQUIRE(inst.clear());
  }
  REQUIRE_EQ(inst.flush(), caf::none);
  done = true;
  for (auto& t : readers)
    t.join();
  CHECK_EQ(bad.load(), 0);
  CHECK_GT(reads.load(), 0);
  // The last round (19, lazy) erased the odd keys.
  CHECK_EQ(*inst.size(), 2500u);
  CHECK_EQ(*inst.get(make_record(4)), std::vector<record>{make_record(4)});
  CHECK(inst.get(make_record(5))->empty());
  REQUIRE_EQ(inst.stop(), caf::none);
}

TEST_CASE("the facade's erase, lazy_erase, clear, match and for_each reach "
          "the default instance") {
  testing::threaded_config cfg;
  caf::actor_system sys{cfg};
  testing::facade_stopper stopper;
  REQUIRE_EQ(start(sys, options{}), caf::none);
  REQUIRE_EQ(put(make_record(1)), caf::none);
  REQUIRE_EQ(put(make_record(2)), caf::none);
  REQUIRE_EQ(lazy_put(make_record(3)), caf::none);
  REQUIRE_EQ(lazy_erase(make_record(3)), caf::none);
  REQUIRE_EQ(flush(), caf::none);
  CHECK_EQ(*match(record::array({nullptr, "value-2"})),
           std::vector<record>{make_record(2)});
  CHECK_EQ(*erase(make_record(1)), 1u);
  size_t seen = 0;
  REQUIRE_EQ(for_each([&](const record&) { ++seen; }), caf::none);
  CHECK_EQ(seen, 1u);
  CHECK_EQ(*clear(), 1u);
  CHECK_EQ(match(record(5)).error(), make_error(errc::invalid_record));
  REQUIRE_EQ(stop(), caf::none);
  CHECK_EQ(erase(make_record(1)).error(), make_error(errc::not_started));
}
