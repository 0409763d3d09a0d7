// Unit tests of `table::erase`, `clear`, `match` and `for_each`: exact
// results on set and bag tables, backward-shift deletion against a model,
// lazy erases in batches, and readers during writes.

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "actors/messages.hpp"
#include "core/pattern.hpp"
#include "core/table.hpp"
#include <supercache/errc.hpp>
#include <supercache/record.hpp>

using namespace supercache;

namespace {

record rec(int64_t k, const std::string& v) {
  return record::array({k, v});
}

std::string key(int64_t k, const record_layout& layout = {}) {
  auto x = record::array();
  for (size_t i = 0; i <= std::max(layout.key_pos, layout.partition_pos); ++i)
    x.push_back(k);
  return key_of(x, layout);
}

record_pattern pattern(const record& x, const record_layout& layout = {}) {
  auto result = record_pattern::make(x, layout);
  REQUIRE(result);
  return std::move(*result);
}

entry put_entry(const record& x) {
  return entry{0, 0, packed::pack(x, record_layout{}).first};
}

entry erase_entry(int64_t k) {
  auto e = put_entry(record::array({k}));
  e.erase = true;
  return e;
}

std::vector<record> all(const table& tbl) {
  std::vector<record> xs;
  tbl.for_each([&](const record& x) { xs.push_back(x); });
  return xs;
}

} // namespace

TEST_CASE("erase removes the one record of a key from a set table and "
          "returns 1, then 0") {
  table tbl{table_type::set, record_layout{}};
  tbl.insert(rec(1, "a"));
  tbl.insert(rec(2, "b"));
  CHECK_EQ(tbl.erase(key(1)), 1u);
  CHECK_EQ(tbl.erase(key(1)), 0u);
  CHECK_EQ(tbl.erase(key(3)), 0u);
  CHECK_EQ(tbl.size(), 1u);
  CHECK(tbl.get(key(1)).empty());
  CHECK_EQ(tbl.get(key(2)), std::vector<record>{rec(2, "b")});
  CHECK_EQ(tbl.erased(), 1u);
  CHECK_EQ(to_json(tbl)["erased"], 1);
}

TEST_CASE("erase removes every record of a key from a bag table and keeps "
          "the other keys' records in their order") {
  table tbl{table_type::bag, record_layout{}};
  // Key 1's values are too long to be held inline: their heap blocks count
  // in bytes().
  auto pad = std::string(30, '.');
  for (int i = 0; i < 5; ++i) {
    tbl.insert(rec(1, "a" + std::to_string(i) + pad));
    tbl.insert(rec(2, "b" + std::to_string(i)));
  }
  auto bytes_before = tbl.bytes();
  CHECK_EQ(tbl.erase(key(1)), 5u);
  CHECK_EQ(tbl.size(), 5u);
  CHECK(tbl.get(key(1)).empty());
  std::vector<record> want;
  for (int i = 0; i < 5; ++i)
    want.push_back(rec(2, "b" + std::to_string(i)));
  CHECK_EQ(tbl.get(key(2)), want);
  CHECK_LT(tbl.bytes(), bytes_before);
  CHECK_EQ(tbl.erased(), 5u);
}

TEST_CASE("erase finds the key at key-pos") {
  record_layout layout{2, 1};
  table tbl{table_type::bag, layout};
  tbl.insert(record::array({"x", 7, "k"}));
  tbl.insert(record::array({"y", 8, "k"}));
  tbl.insert(record::array({"z", 9, "j"}));
  CHECK_EQ(tbl.erase(key_of(record::array({0, 0, "k"}), layout)), 2u);
  CHECK_EQ(all(tbl), std::vector<record>{record::array({"z", 9, "j"})});
}

TEST_CASE("clear removes every record, returns how many, and the table "
          "stores again afterwards") {
  table tbl{table_type::set, record_layout{}};
  for (int i = 0; i < 5000; ++i)
    tbl.insert(rec(i, "v"));
  auto empty_bytes = table{table_type::set, record_layout{}}.bytes();
  CHECK_EQ(tbl.clear(), 5000u);
  CHECK_EQ(tbl.size(), 0u);
  CHECK_EQ(tbl.bytes(), empty_bytes);
  CHECK(tbl.get(key(42)).empty());
  CHECK(all(tbl).empty());
  CHECK_EQ(tbl.erased(), 5000u);
  tbl.insert(rec(42, "w"));
  CHECK_EQ(tbl.get(key(42)), std::vector<record>{rec(42, "w")});
}

TEST_CASE("backward-shift deletion keeps every remaining record findable: "
          "random erases and inserts against a multimap model") {
  // 600 keys in 1024 slots (before growing) makes long probe runs and runs
  // that wrap around the end of the slot array.
  for (auto type : {table_type::set, table_type::bag}) {
    table tbl{type, record_layout{}};
    std::multimap<int64_t, std::string> model;
    std::mt19937_64 rng{type == table_type::set ? 7u : 11u};
    size_t erased = 0;
    for (int step = 0; step < 20000; ++step) {
      auto k = static_cast<int64_t>(rng() % 600);
      if (rng() % 3 == 0) {
        auto n = model.erase(k);
        CHECK_EQ(tbl.erase(key(k)), n);
        erased += n;
      } else {
        auto v = std::to_string(rng() % 4);
        tbl.insert(rec(k, v));
        if (type == table_type::set) {
          model.erase(k);
          model.emplace(k, v);
        } else {
          auto [first, last] = model.equal_range(k);
          if (std::none_of(first, last,
                           [&](auto& kv) { return kv.second == v; }))
            model.emplace(k, v);
        }
      }
      if (step % 1000 == 999 || step == 19999) {
        REQUIRE_EQ(tbl.size(), model.size());
        for (int64_t j = 0; j < 600; ++j) {
          std::vector<record> want;
          auto [first, last] = model.equal_range(j);
          for (auto i = first; i != last; ++i)
            want.push_back(rec(j, i->second)); // multimap keeps insert order
          REQUIRE_EQ(tbl.get(key(j)), want);
        }
      }
    }
    CHECK_EQ(tbl.erased(), erased);
    // A scan sees exactly the model, each key's records in stored order.
    std::multimap<int64_t, std::string> seen;
    for (auto& x : all(tbl))
      seen.emplace(x[0].get<int64_t>(), x[1].get<std::string>());
    CHECK(seen == model);
  }
}

TEST_CASE("a batch applies lazy erases in order with its records") {
  table tbl{table_type::set, record_layout{}};
  std::vector<entry> batch;
  batch.push_back(put_entry(rec(1, "a")));
  batch.push_back(erase_entry(1)); // put then erase: nothing left
  batch.push_back(erase_entry(2));
  batch.push_back(put_entry(rec(2, "b"))); // erase then put: the record
  CHECK_EQ(tbl.insert(batch), 4u);
  CHECK(tbl.get(key(1)).empty());
  CHECK_EQ(tbl.get(key(2)), std::vector<record>{rec(2, "b")});
  CHECK_EQ(tbl.erased(), 1u);
}

TEST_CASE("match returns exactly the records equal to the pattern's non-null "
          "elements, on set and bag tables") {
  for (auto type : {table_type::set, table_type::bag}) {
    table tbl{type, record_layout{}};
    tbl.insert(record::array({1, "red", 10}));
    tbl.insert(record::array({2, "red", 20, "extra"}));
    tbl.insert(record::array({3, "blue", 10}));
    tbl.insert(record::array({4, "red"}));
    tbl.insert(record::array({5, 1.0, 10}));
    tbl.insert(record::array({6, 1, 10}));
    tbl.insert(record::array({7, record::array({nullptr, 1}), 10}));
    auto sorted = [](std::vector<record> xs) {
      std::sort(xs.begin(), xs.end(),
                [](auto& x, auto& y) { return x[0] < y[0]; });
      return xs;
    };
    auto m = [&](const record& p) { return sorted(tbl.match(pattern(p))); };
    CHECK_EQ(m(record::array({nullptr, "red"})),
             std::vector<record>{record::array({1, "red", 10}),
                                 record::array({2, "red", 20, "extra"}),
                                 record::array({4, "red"})});
    CHECK_EQ(m(record::array({nullptr, "red", 10})),
             std::vector<record>{record::array({1, "red", 10})});
    // A record shorter than the pattern matches only null beyond its end.
    CHECK_EQ(m(record::array({4, "red", nullptr, nullptr})),
             std::vector<record>{record::array({4, "red"})});
    CHECK(m(record::array({4, "red", 10})).empty());
    // Stored forms compare: 1 and 1.0 differ.
    CHECK_EQ(m(record::array({nullptr, 1})),
             std::vector<record>{record::array({6, 1, 10})});
    CHECK_EQ(m(record::array({nullptr, 1.0})),
             std::vector<record>{record::array({5, 1.0, 10})});
    // Nested null is literal.
    CHECK_EQ(m(record::array({nullptr, record::array({nullptr, 1})})),
             std::vector<record>{record::array({7, record::array({nullptr, 1}),
                                                10})});
    CHECK(m(record::array({nullptr, record::array({2, 1})})).empty());
    // The key fixed: a lookup.
    CHECK_EQ(m(record::array({3})),
             std::vector<record>{record::array({3, "blue", 10})});
    CHECK(m(record::array({3, "red"})).empty());
    CHECK_EQ(m(record::array()).size(), 7u);
    CHECK_EQ(m(record::array({nullptr})).size(), 7u);
  }
}

TEST_CASE("match on a bag returns a key's records in their stored order") {
  table tbl{table_type::bag, record_layout{}};
  for (int i = 0; i < 50; ++i)
    tbl.insert(rec(1, std::to_string(i)));
  auto xs = tbl.match(pattern(record::array({1})));
  auto ys = tbl.match(pattern(record::array({nullptr, nullptr})));
  REQUIRE_EQ(xs.size(), 50u);
  for (int i = 0; i < 50; ++i)
    CHECK_EQ(xs[i], rec(1, std::to_string(i)));
  CHECK_EQ(xs, ys);
  CHECK_EQ(all(tbl), xs);
}

TEST_CASE("bad patterns are invalid_record naming what was wrong") {
  auto err = record_pattern::make(record{{"a", 1}}, record_layout{}).error();
  CHECK_EQ(err, make_error(errc::invalid_record));
  CHECK_NE(to_string(err).find("must be a JSON array, got object"),
           std::string::npos);
  CHECK_EQ(record_pattern::make(record(5), record_layout{}).error(),
           make_error(errc::invalid_record));
  CHECK_EQ(record_pattern::make(record(), record_layout{}).error(),
           make_error(errc::invalid_record));
  record deep = record::array();
  for (size_t i = 0; i < max_record_depth; ++i)
    deep = record::array({deep});
  auto deep_err = record_pattern::make(deep, record_layout{}).error();
  CHECK_EQ(deep_err, make_error(errc::invalid_record));
  CHECK_NE(to_string(deep_err).find("levels deep"), std::string::npos);
}

TEST_CASE("msgpack_element_size measures nested elements and refuses "
          "truncated ones") {
  std::string bytes;
  append_msgpack(record::array({1, "ab", record::array({1.5, nullptr}),
                                record{{"k", record::array({true})}}}),
                 bytes);
  CHECK_EQ(msgpack_element_size(bytes), bytes.size());
  for (size_t n = 0; n < bytes.size(); ++n)
    CHECK_EQ(msgpack_element_size(std::string_view{bytes}.substr(0, n)), 0u);
}

TEST_CASE("readers see whole records and consistent bag keys while a writer "
          "inserts and erases") {
  // Key k holds records [k, "v-k-0"] .. [k, "v-k-3"], all or none: the
  // writer erases a key and puts all four back in one batch. A reader must
  // never see a record of another key or content, and in a snapshot a key
  // has 0 or 4 records, in order.
  table tbl{table_type::bag, record_layout{}};
  constexpr int64_t keys = 200;
  auto fill = [&](int64_t k) {
    std::vector<entry> batch;
    batch.push_back(erase_entry(k));
    for (int i = 0; i < 4; ++i)
      batch.push_back(put_entry(
        rec(k, "v-" + std::to_string(k) + "-" + std::to_string(i))));
    tbl.insert(batch);
  };
  for (int64_t k = 0; k < keys; ++k)
    fill(k);
  std::atomic<bool> done{false};
  std::atomic<int> bad{0};
  std::atomic<size_t> scans{0};
  auto check_key = [&](int64_t k, const std::vector<record>& xs) {
    if (xs.size() != 0 && xs.size() != 4)
      ++bad;
    for (size_t i = 0; i < xs.size(); ++i)
      if (xs[i] != rec(k, "v-" + std::to_string(k) + "-" + std::to_string(i)))
        ++bad;
  };
  auto reader = [&](int kind) {
    std::mt19937 rng{static_cast<unsigned>(kind)};
    while (!done.load()) {
      if (kind == 0) {
        auto k = static_cast<int64_t>(rng() % keys);
        check_key(k, tbl.get(key(k)));
      } else {
        std::map<int64_t, std::vector<record>> by_key;
        auto take = [&](const record& x) {
          by_key[x[0].get<int64_t>()].push_back(x);
        };
        if (kind == 1)
          for (auto& x : tbl.match(pattern(record::array({nullptr}))))
            take(x);
        else
          tbl.for_each(take);
        for (auto& [k, xs] : by_key)
          check_key(k, xs);
        ++scans;
      }
    }
  };
  std::vector<std::thread> readers;
  for (int kind = 0; kind < 3; ++kind)
    readers.emplace_back(reader, kind);
  for (int round = 0; round < 20000; ++round) {
    auto k = static_cast<int64_t>(round % keys);
    if (round % 7 == 0)
      tbl.erase(key(k)); // and back below
    fill(k);
    if (round % 4000 == 3999)
      while (scans.load() < static_cast<size_t>(round / 2000))
        std::this_thread::yield(); // let the scanners run a few times
  }
  done = true;
  for (auto& t : readers)
    t.join();
  CHECK_EQ(bad.load(), 0);
  CHECK_GT(scans.load(), 0u);
  CHECK_EQ(tbl.size(), static_cast<size_t>(keys * 4));
}
