// Unit tests of records: validation, keys and partitions. The serialization
// of records and stream entries is in msgpack_test.cpp.

#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <supercache/errc.hpp>
#include <supercache/record.hpp>

using namespace supercache;

// -- validate -----------------------------------------------------------------

TEST_CASE("validate rejects every record that is not a JSON array") {
  record_layout layout;
  const std::vector<record> not_arrays{
    record{{"key", 1}, {"value", "a"}}, // object
    record("[1, 2]"),                   // string (not parsed)
    record(42),                         // number
    record(4.2),                        // float
    record(nullptr),                    // null
    record(true),                       // boolean
  };
  for (auto& x : not_arrays) {
    CAPTURE(x.dump());
    auto err = validate(x, layout);
    CHECK_EQ(err, errc::invalid_record);
    CHECK_EQ(render(err).rfind("supercache::invalid_record: ", 0), 0u);
  }
}

TEST_CASE("validate rejects an array shorter than max(key-pos, partition-pos) "
          "+ 1 and names the positions") {
  SUBCASE("key-pos 2, partition-pos 1, two elements") {
    record_layout layout{2, 1};
    auto err = validate(record::array({1, "a"}), layout);
    REQUIRE_EQ(err, errc::invalid_record);
    auto text = render(err);
    CAPTURE(text);
    CHECK_NE(text.find("supercache::invalid_record"), std::string::npos);
    CHECK_NE(text.find("key-pos 2"), std::string::npos);
    CHECK_NE(text.find("partition-pos 1"), std::string::npos);
    CHECK_NE(text.find("at least 3"), std::string::npos);
  }
  SUBCASE("key-pos 0, partition-pos 3, three elements") {
    record_layout layout{0, 3};
    auto err = validate(record::array({1, 2, 3}), layout);
    REQUIRE_EQ(err, errc::invalid_record);
    auto text = render(err);
    CAPTURE(text);
    CHECK_NE(text.find("key-pos 0"), std::string::npos);
    CHECK_NE(text.find("partition-pos 3"), std::string::npos);
    CHECK_NE(text.find("at least 4"), std::string::npos);
  }
  SUBCASE("the default layout and an empty array") {
    auto err = validate(record::array(), record_layout{});
    REQUIRE_EQ(err, errc::invalid_record);
    CHECK_NE(render(err).find("key-pos 0, partition-pos 0"), std::string::npos);
  }
}

TEST_CASE("validate accepts arrays long enough for the layout") {
  CHECK_FALSE(validate(record::array({1}), record_layout{}));
  CHECK_FALSE(validate(record::parse(R"(["user", 1, "A"])"), record_layout{}));
  // key-pos 2, partition-pos 1: three elements is exactly enough.
  CHECK_FALSE(validate(record::array({"user", 1, "A"}), record_layout{2, 1}));
  CHECK_FALSE(
    validate(record::array({"user", 1, "A", "extra"}), record_layout{2, 1}));
  CHECK_FALSE(validate(record::array({nullptr, nullptr}), record_layout{1, 1}));
  // Elements of any type, including nested ones, are fine.
  CHECK_FALSE(validate(record::parse(R"([{"a": 1}, [1, 2], null])"),
                       record_layout{0, 2}));
}

// -- key_of -------------------------------------------------------------------

TEST_CASE("key_of makes the integer 1, the float 1.0 and the string \"1\" "
          "three different keys") {
  record_layout layout;
  auto k_int = key_of(record::array({1}), layout);
  auto k_float = key_of(record::array({1.0}), layout);
  auto k_string = key_of(record::array({"1"}), layout);
  CHECK_NE(k_int, k_float);
  CHECK_NE(k_int, k_string);
  CHECK_NE(k_float, k_string);
}

TEST_CASE("key_of gives parsed and constructed integers the same key") {
  record_layout layout;
  auto parsed = record::parse(R"([1, "a"])");
  auto constructed = record::array({1, "a"});
  // Make sure the two really differ in representation.
  REQUIRE(parsed[0].is_number_unsigned());
  REQUIRE_FALSE(constructed[0].is_number_unsigned());
  CHECK_EQ(key_of(parsed, layout), key_of(constructed, layout));
  // Also for negative and large values, and at another key position.
  record_layout second{1, 0};
  CHECK_EQ(key_of(record::parse(R"(["x", -7])"), second),
           key_of(record::array({"x", -7}), second));
  CHECK_EQ(key_of(record::parse(R"(["x", 9223372036854775807])"), second),
           key_of(record::array({"x", std::numeric_limits<int64_t>::max()}),
                  second));
}

TEST_CASE("key_of reads the key at key-pos only") {
  record_layout layout{2, 0};
  CHECK_EQ(key_of(record::array({1, "a", "k"}), layout),
           key_of(record::array({2, "b", "k"}), layout));
  CHECK_NE(key_of(record::array({1, "a", "k"}), layout),
           key_of(record::array({1, "a", "j"}), layout));
}

// -- partition_of -------------------------------------------------------------

TEST_CASE("partition_of always picks a partition below the partition count") {
  record_layout layout;
  std::vector<record> elements{
    0, 1, -1, 42, std::numeric_limits<int64_t>::min(),
    std::numeric_limits<uint64_t>::max(), 1.5, -0.0, "", "user",
    "日本語", nullptr, true, record::array({1, 2}), record{{"a", 1}},
  };
  for (size_t partitions : {2u, 3u, 4u, 7u, 16u, 999u}) {
    for (auto& element : elements) {
      CAPTURE(partitions);
      CAPTURE(element.dump());
      CHECK_LT(partition_of(record::array({element}), layout, partitions),
               partitions);
    }
    for (int i = -1000; i < 1000; ++i)
      REQUIRE_LT(partition_of(record::array({i}), layout, partitions),
                 partitions);
  }
}

TEST_CASE("equal partition elements pick the same partition") {
  // The key differs, the partition element (position 1) is equal.
  record_layout layout{0, 1};
  for (size_t partitions : {2u, 3u, 4u, 16u}) {
    for (int i = 0; i < 200; ++i) {
      auto s = "user-" + std::to_string(i);
      CHECK_EQ(partition_of(record::array({1, s}), layout, partitions),
               partition_of(record::array({2, s, "extra"}), layout,
                            partitions));
      CHECK_EQ(partition_of(record::array({1, i}), layout, partitions),
               partition_of(record::array({"other", i}), layout, partitions));
    }
    CHECK_EQ(
      partition_of(record::parse(R"([1, {"a": [1, 2]}])"), layout, partitions),
      partition_of(record::parse(R"([2, {"a": [1, 2]}])"), layout,
                   partitions));
  }
}

TEST_CASE("a parsed unsigned and a constructed signed integer pick the same "
          "partition") {
  record_layout layout;
  auto parsed = record::parse("[5]");
  auto constructed = record::array({5});
  REQUIRE(parsed[0].is_number_unsigned());
  REQUIRE_FALSE(constructed[0].is_number_unsigned());
  for (size_t partitions = 2; partitions <= 64; ++partitions) {
    CAPTURE(partitions);
    CHECK_EQ(partition_of(parsed, layout, partitions),
             partition_of(constructed, layout, partitions));
  }
  for (int i = 0; i < 1000; ++i) {
    auto p = record::parse("[" + std::to_string(i) + "]");
    auto c = record::array({i});
    REQUIRE_EQ(partition_of(p, layout, 4), partition_of(c, layout, 4));
  }
}

TEST_CASE("with one partition every record goes to partition 0") {
  record_layout layout;
  for (int i = -100; i < 100; ++i)
    REQUIRE_EQ(partition_of(record::array({i}), layout, 1), 0u);
  CHECK_EQ(partition_of(record::array({"user"}), layout, 1), 0u);
  CHECK_EQ(partition_of(record::array({nullptr}), layout, 1), 0u);
  CHECK_EQ(partition_of(record::array({2.5}), layout, 1), 0u);
}

TEST_CASE("10,000 integer keys spread over 4 partitions give every partition "
          "at least 2,000") {
  record_layout layout;
  std::vector<size_t> counts(4, 0);
  for (int i = 0; i < 10000; ++i)
    ++counts.at(partition_of(record::array({i, "value"}), layout, 4));
  size_t total = 0;
  for (size_t p = 0; p < counts.size(); ++p) {
    CAPTURE(p);
    CHECK_GE(counts[p], 2000u);
    total += counts[p];
  }
  CHECK_EQ(total, 10000u);
}

TEST_CASE("10,000 string keys spread over 4 partitions give every partition "
          "at least 2,000") {
  record_layout layout;
  std::vector<size_t> counts(4, 0);
  for (int i = 0; i < 10000; ++i)
    ++counts.at(
      partition_of(record::array({"key-" + std::to_string(i)}), layout, 4));
  for (size_t p = 0; p < counts.size(); ++p) {
    CAPTURE(p);
    CHECK_GE(counts[p], 2000u);
  }
}

TEST_CASE("partition_index is the hash modulo the partition count, also for "
          "the powers of two it masks") {
  uint64_t hash = 0x9e3779b97f4a7c15ull;
  for (int i = 0; i < 2000; ++i) {
    hash = hash * 6364136223846793005ull + 1442695040888963407ull;
    CHECK_EQ(partition_index(hash, 0), 0u);
    for (size_t n = 1; n <= 70; ++n)
      REQUIRE_EQ(partition_index(hash, n), static_cast<uint32_t>(hash % n));
    REQUIRE_EQ(partition_index(hash, 1024), static_cast<uint32_t>(hash % 1024));
  }
}
