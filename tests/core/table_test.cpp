// Unit tests of `table`: set and bag storage, batch inserts and concurrent
// readers.

#include <doctest/doctest.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "actors/messages.hpp"
#include <supercache/record.hpp>
#include "core/table.hpp"

using namespace supercache;

namespace {

record make_record(int key, const std::string& value) {
  return record::array({key, value});
}

std::string key(int k) {
  return key_of(record::array({k}), record_layout{});
}

entry record_entry(int k, const std::string& value) {
  return entry{0, 0, packed::pack(make_record(k, value), record_layout{}).first};
}

entry barrier_entry(uint64_t id) {
  return entry{0, id, packed{}};
}

} // namespace

TEST_CASE("a set table keeps only the last record of a key and its size "
          "counts keys") {
  table tbl{table_type::set, record_layout{}};
  tbl.insert(make_record(1, "a"));
  tbl.insert(make_record(1, "b"));
  tbl.insert(make_record(2, "x"));
  tbl.insert(make_record(1, "c"));
  CHECK_EQ(tbl.size(), 2u);
  auto found = tbl.get(key(1));
  REQUIRE_EQ(found.size(), 1u);
  CHECK_EQ(found.front(), make_record(1, "c"));
  found = tbl.get(key(2));
  REQUIRE_EQ(found.size(), 1u);
  CHECK_EQ(found.front(), make_record(2, "x"));
}

TEST_CASE("a set table finds a record by the key at key-pos") {
  record_layout layout{2, 0};
  table tbl{table_type::set, layout};
  tbl.insert(record::array({"p", 1, "k"}));
  tbl.insert(record::array({"q", 2, "k"}));
  CHECK_EQ(tbl.size(), 1u);
  auto found = tbl.get(key_of(record::array({0, 0, "k"}), layout));
  REQUIRE_EQ(found.size(), 1u);
  CHECK_EQ(found.front(), record::array({"q", 2, "k"}));
  CHECK(tbl.get(key_of(record::array({0, 0, "p"}), layout)).empty());
}

TEST_CASE("a bag table keeps the distinct records of a key and its size "
          "counts records") {
  table tbl{table_type::bag, record_layout{}};
  tbl.insert(make_record(1, "a"));
  tbl.insert(make_record(1, "b"));
  tbl.insert(make_record(2, "a"));
  tbl.insert(make_record(1, "c"));
  CHECK_EQ(tbl.size(), 4u);
  auto found = tbl.get(key(1));
  REQUIRE_EQ(found.size(), 3u);
  CHECK_EQ(found[0], make_record(1, "a"));
  CHECK_EQ(found[1], make_record(1, "b"));
  CHECK_EQ(found[2], make_record(1, "c"));
  CHECK_EQ(tbl.get(key(2)).size(), 1u);
}

TEST_CASE("a bag table stores an equal record only once") {
  table tbl{table_type::bag, record_layout{}};
  tbl.insert(make_record(1, "a"));
  tbl.insert(make_record(1, "a"));
  // Parsed (unsigned) and constructed (signed) integers are equal records.
  tbl.insert(record::parse(R"([1, "a"])"));
  CHECK_EQ(tbl.size(), 1u);
  auto found = tbl.get(key(1));
  REQUIRE_EQ(found.size(), 1u);
  CHECK_EQ(found.front(), make_record(1, "a"));
}

// nlohmann's operator== holds 1 == 1.0, but an ETS bag stores {k, 1} and
// {k, 1.0} as two objects; the table compares the packed bytes.
TEST_CASE("a bag table keeps [k, 1] and [k, 1.0] as two records") {
  table tbl{table_type::bag, record_layout{}};
  tbl.insert(record::array({"k", 1}));
  tbl.insert(record::array({"k", 1.0}));
  CHECK_EQ(tbl.size(), 2u);
  CHECK_EQ(tbl.get(key_of(record::array({"k"}), record_layout{})).size(), 2u);
}

TEST_CASE("inserting a batch skips barrier entries and returns the number of "
          "records applied") {
  table tbl{table_type::set, record_layout{}};
  std::vector<entry> batch{barrier_entry(1), record_entry(1, "a"),
                           record_entry(2, "b"), barrier_entry(2),
                           record_entry(3, "c"), barrier_entry(3)};
  CHECK_EQ(tbl.insert(batch), 3u);
  CHECK_EQ(tbl.size(), 3u);
  // A barrier's null value is no record: nothing is stored under key null.
  CHECK(tbl.get(record(nullptr).dump()).empty());
  std::vector<entry> only_barriers{barrier_entry(4), barrier_entry(5)};
  CHECK_EQ(tbl.insert(only_barriers), 0u);
  std::vector<entry> empty;
  CHECK_EQ(tbl.insert(empty), 0u);
  CHECK_EQ(tbl.size(), 3u);
}

TEST_CASE("inserting a batch applies it in order so the last record of a key "
          "wins") {
  table tbl{table_type::set, record_layout{}};
  std::vector<entry> batch;
  for (int i = 0; i < 100; ++i)
    batch.push_back(record_entry(i % 10, "v" + std::to_string(i)));
  CHECK_EQ(tbl.insert(batch), 100u);
  CHECK_EQ(tbl.size(), 10u);
  for (int k = 0; k < 10; ++k) {
    auto found = tbl.get(key(k));
    REQUIRE_EQ(found.size(), 1u);
    CHECK_EQ(found.front(), make_record(k, "v" + std::to_string(90 + k)));
  }
}

TEST_CASE("inserting a batch into a bag keeps the order of a key's records") {
  table tbl{table_type::bag, record_layout{}};
  std::vector<entry> batch{record_entry(1, "c"), record_entry(1, "a"),
                           record_entry(1, "c"), record_entry(1, "b")};
  CHECK_EQ(tbl.insert(batch), 4u); // applied, even if already stored
  CHECK_EQ(tbl.size(), 3u);
  auto found = tbl.get(key(1));
  REQUIRE_EQ(found.size(), 3u);
  CHECK_EQ(found[0], make_record(1, "c"));
  CHECK_EQ(found[1], make_record(1, "a"));
  CHECK_EQ(found[2], make_record(1, "b"));
}

TEST_CASE("a bag table that grows many times keeps every record of each key "
          "in its stored order, also when cleared while its next growth is "
          "prepared") {
  // A table of 1,024 slots grows at its 769th record and prepares the next
  // array from its 672nd (core/table.hpp, prepare_growth).
  table tbl{table_type::bag, record_layout{}};
  constexpr int keys = 3000;
  constexpr int rounds = 4; // 12,000 records: four growths
  for (int r = 0; r < rounds; ++r) {
    std::vector<entry> batch;
    for (int k = 0; k < keys; ++k)
      batch.push_back(record_entry(k, "v" + std::to_string(r)));
    CHECK_EQ(tbl.insert(batch), static_cast<size_t>(keys));
  }
  CHECK_EQ(tbl.size(), static_cast<size_t>(keys * rounds));
  size_t out_of_order = 0;
  for (int k = 0; k < keys; ++k) {
    auto found = tbl.get(key(k));
    bool ok = found.size() == rounds;
    for (int r = 0; ok && r < rounds; ++r)
      ok = found[r] == make_record(k, "v" + std::to_string(r));
    out_of_order += ok ? 0 : 1;
  }
  CHECK_EQ(out_of_order, 0u);
  size_t scanned = 0; // a scan sees every slot: no stray ones either
  tbl.for_each([&](const record&) { ++scanned; });
  CHECK_EQ(scanned, static_cast<size_t>(keys * rounds));
  CHECK_EQ(tbl.clear(), static_cast<size_t>(keys * rounds));
  // Into the preparing stretch of a fresh table, cleared there, then grown.
  for (int k = 0; k < 700; ++k)
    tbl.insert(make_record(k, "old"));
  CHECK_EQ(tbl.clear(), 700u);
  for (int k = 0; k < 2000; ++k)
    tbl.insert(make_record(k, "new"));
  CHECK_EQ(tbl.size(), 2000u);
  scanned = 0;
  tbl.for_each([&](const record&) { ++scanned; });
  CHECK_EQ(scanned, 2000u);
  size_t wrong = 0;
  for (int k = 0; k < 2000; ++k) {
    auto found = tbl.get(key(k));
    wrong += found.size() == 1 && found[0] == make_record(k, "new") ? 0 : 1;
  }
  CHECK_EQ(wrong, 0u);
}

/// Returns `n` keys that all fall into shard 0 of a table.
std::vector<int> shard_zero_keys(size_t n) {
  std::vector<int> result;
  for (int k = 0; result.size() < n; ++k)
    if (table::shard_index(table::key_hash(key(k))) == 0)
      result.push_back(k);
  return result;
}

TEST_CASE("a shard of a table faults in the array of its next growth from "
          "7/8 of the way to it, counted in its bytes, unless max-records "
          "keeps the table from growing") {
  constexpr size_t slot_bytes = 32; // inline records: no heap bytes
  // The other shards keep their first 64 slots; shard 0 has 1,024 from its
  // 385th record on, grows at its 769th and prepares from its 672nd.
  constexpr size_t others = (table::shard_count - 1) * table::initial_capacity;
  auto keys = shard_zero_keys(800);
  table tbl{table_type::set, record_layout{}};
  auto fill = [&](table& t, size_t from, size_t to) {
    for (auto i = from; i < to; ++i)
      t.insert(make_record(keys[i], "v"));
  };
  fill(tbl, 0, 671);
  CHECK_EQ(tbl.bytes(), (others + 1024) * slot_bytes);
  fill(tbl, 671, 672); // 672 = 768 - 768 / 8: the first page comes in
  CHECK_GT(tbl.bytes(), (others + 1024) * slot_bytes);
  CHECK_LT(tbl.bytes(), (others + 1024 + 2048) * slot_bytes);
  fill(tbl, 672, 768);
  CHECK_EQ(tbl.bytes(), (others + 1024 + 2048) * slot_bytes); // not grown
  fill(tbl, 768, 769);
  CHECK_EQ(tbl.bytes(), (others + 2048) * slot_bytes); // grown into it
  CHECK_EQ(tbl.size(), 769u);
  // 700 records are far fewer than 16 shards of 1,024 slots take: shard 0
  // grows to hold them, without preparing its next growth.
  table bounded{table_type::set, record_layout{}, table_limits{{}, 700}};
  fill(bounded, 0, 800);
  CHECK_EQ(bounded.size(), 700u);
  CHECK_EQ(bounded.bytes(), (others + 1024) * slot_bytes);
}

TEST_CASE("a table spreads its keys over its shards within a tenth of an "
          "even share each and finds every one") {
  table tbl{table_type::set, record_layout{}};
  std::vector<size_t> per_shard(table::shard_count);
  for (int k = 0; k < 100'000; ++k) {
    ++per_shard[table::shard_index(table::key_hash(key(k)))];
    tbl.insert(make_record(k, "v"));
  }
  CHECK_EQ(tbl.size(), 100'000u);
  for (auto n : per_shard) {
    CHECK_GT(n, 100'000u / table::shard_count * 9 / 10);
    CHECK_LT(n, 100'000u / table::shard_count * 11 / 10);
  }
  size_t wrong = 0;
  for (int k = 0; k < 100'000; ++k) {
    auto found = tbl.get(key(k));
    wrong += found.size() == 1 && found[0] == make_record(k, "v") ? 0 : 1;
  }
  CHECK_EQ(wrong, 0u);
}

TEST_CASE("get of a missing key is empty") {
  table tbl{table_type::set, record_layout{}};
  CHECK(tbl.get(key(1)).empty());
  tbl.insert(make_record(1, "a"));
  CHECK(tbl.get(key(2)).empty());
  // The string "1" and the float 1.0 are other keys than the integer 1.
  CHECK(tbl.get(key_of(record::array({"1"}), record_layout{})).empty());
  CHECK(tbl.get(key_of(record::array({1.0}), record_layout{})).empty());
  CHECK_EQ(tbl.get(key(1)).size(), 1u);
}

TEST_CASE("concurrent readers never see the size decrease while a writer "
          "inserts 100,000 records") {
  constexpr int num_records = 100000;
  constexpr int batch_size = 1000;
  constexpr int num_readers = 2;
  table tbl{table_type::set, record_layout{}};
  std::atomic<int> started{0};
  std::atomic<bool> done{false};
  std::atomic<size_t> decreases{0};
  std::atomic<size_t> missing{0};
  std::atomic<size_t> wrong{0};
  std::atomic<size_t> reads{0};
  std::vector<size_t> last_seen(num_readers, 0);
  auto reader = [&](int id) {
    size_t last = 0;
    size_t n = 0;
    auto check = [&] {
      auto s = tbl.size();
      if (s < last)
        ++decreases;
      last = s;
      if (s > 0) {
        // Keys are inserted in order 0, 1, ...: a reader that sees size s
        // finds the record of key s - 1, whole.
        auto k = static_cast<int>(s - 1);
        auto found = tbl.get(key(k));
        if (found.size() != 1)
          ++missing;
        else if (found.front() != make_record(k, "value-" + std::to_string(k)))
          ++wrong;
      }
      ++n;
    };
    ++started;
    while (!done.load())
      check();
    check(); // after the writer is done
    reads += n;
    last_seen[id] = last;
  };
  std::vector<std::thread> readers;
  for (int i = 0; i < num_readers; ++i)
    readers.emplace_back(reader, i);
  while (started.load() < num_readers)
    std::this_thread::yield();
  size_t applied = 0;
  for (int first = 0; first < num_records; first += batch_size) {
    std::vector<entry> batch;
    batch.reserve(batch_size + 1);
    for (int k = first; k < first + batch_size; ++k)
      batch.push_back(record_entry(k, "value-" + std::to_string(k)));
    batch.push_back(barrier_entry(static_cast<uint64_t>(first) + 1));
    applied += tbl.insert(batch);
  }
  done = true;
  for (auto& t : readers)
    t.join();
  CHECK_EQ(applied, static_cast<size_t>(num_records));
  CHECK_EQ(tbl.size(), static_cast<size_t>(num_records));
  CHECK_EQ(decreases.load(), 0u);
  CHECK_EQ(missing.load(), 0u);
  CHECK_EQ(wrong.load(), 0u);
  CHECK_GE(reads.load(), static_cast<size_t>(num_readers));
  for (int i = 0; i < num_readers; ++i)
    CHECK_EQ(last_seen[i], static_cast<size_t>(num_records));
}
