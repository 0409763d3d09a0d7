// Unit tests of `scan_canonical`, the check of a received record's bytes
// without decoding them, and of `check_owner`, which relies on it for
// canonical records and decodes the rest.

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <cstring>
#include <string>
#include <vector>

#include "actors/messages.hpp"
#include "actors/remote_guard.hpp"
#include "core/canonical.hpp"
#include "core/packed.hpp"
#include <supercache/record.hpp>

using namespace supercache;

namespace {

std::string bytes_of(std::initializer_list<int> xs) {
  std::string result;
  for (auto x : xs)
    result.push_back(static_cast<char>(x));
  return result;
}

std::string msgpack(const record& x) {
  std::string result;
  append_msgpack(x, result);
  return result;
}

/// `depth` arrays nested in each other, the innermost empty.
std::string nested(size_t depth) {
  std::string result(depth, static_cast<char>(0x91));
  result.back() = static_cast<char>(0x90);
  return result;
}

/// A packed record of the MessagePack `bytes` whose header names the bytes
/// from `key_offset` (`key_size` long) as its key.
packed block_of(const std::string& bytes, uint32_t key_offset,
                uint32_t key_size) {
  uint32_t header[3] = {static_cast<uint32_t>(bytes.size()), key_offset,
                        key_size};
  std::string block(sizeof(header), '\0');
  std::memcpy(block.data(), header, sizeof(header));
  block += bytes;
  auto result = packed::from_block(block);
  REQUIRE(result);
  return std::move(*result);
}

} // namespace

TEST_CASE("the bytes of every record this library packs are canonical, and "
          "the scan finds their key and partition elements") {
  record_layout layout{1, 2};
  std::vector<record> xs{
    record::parse(R"([1, "key", "part"])"),
    record::parse(R"([-1, -33, -129, -32769, -2147483649, 127, 128, 256,
                      65536, 4294967296, 0.5, 1e300, -0.0, null, true])"),
    record::parse(R"([[], [[1, 2]], ")"
                  + std::string(40, 'x') + R"(", [1,2,3,4,5,6,7,8,9,10,11,
                      12,13,14,15,16,17]])"),
    record::parse(R"([0, ")" + std::string(300, 'y') + R"(", 1.5])"),
  };
  for (auto& x : xs) {
    auto bytes = msgpack(x);
    auto c = scan_canonical(bytes, layout);
    REQUIRE(c);
    CHECK_EQ(c->elements, x.size());
    CHECK_EQ(std::string{c->key}, key_of(x, layout));
    CHECK_EQ(std::string{c->partition}, msgpack(x[2]));
    CHECK_FALSE(check_msgpack_array(bytes));
  }
  auto deepest = nested(max_record_depth);
  CHECK(scan_canonical(deepest, layout));
  CHECK_FALSE(check_msgpack_array(deepest));
}

TEST_CASE("valid MessagePack that this library would not write is left to "
          "the full check, which accepts it") {
  float nan = std::numeric_limits<float>::quiet_NaN();
  uint32_t nan_bits;
  std::memcpy(&nan_bits, &nan, sizeof(nan_bits));
  std::vector<std::string> inputs{
    bytes_of({0x91, 0xcc, 0x05}),             // 5 as uint8
    bytes_of({0x91, 0xcd, 0x00, 0x80}),       // 128 as uint16
    bytes_of({0x91, 0xd0, 0x05}),             // 5 as int8
    bytes_of({0x91, 0xd0, 0xf0}),             // -16 as int8
    bytes_of({0x91, 0xd9, 0x01, 'a'}),        // short string as str8
    bytes_of({0x91, 0xca, int(nan_bits >> 24), int((nan_bits >> 16) & 0xff),
              int((nan_bits >> 8) & 0xff), int(nan_bits & 0xff)}),
    bytes_of({0x91, 0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0}), // 1.5 as float64
    bytes_of({0xdc, 0x00, 0x01, 0x01}),       // one element as array16
    bytes_of({0x91, 0x81, 0xa1, 'a', 0x01}),  // a map
    bytes_of({0x91, 0xc4, 0x01, 0x00}),       // a binary
  };
  for (auto& bytes : inputs) {
    CAPTURE(bytes.size());
    CHECK_FALSE(scan_canonical(bytes, record_layout{}));
    CHECK_FALSE(check_msgpack_array(bytes));
    CHECK(from_msgpack(bytes));
  }
  // -256 needs int16: canonical.
  CHECK(scan_canonical(bytes_of({0x91, 0xd1, 0xff, 0x00}), record_layout{}));
}

TEST_CASE("malformed, truncated, trailing, too deep or non-array bytes are "
          "refused by the scan and by the full check") {
  std::vector<std::string> inputs{
    "",
    bytes_of({0x01}),                   // not an array
    bytes_of({0x92, 0x01}),             // one element short
    bytes_of({0x91, 0x01, 0x01}),       // a byte after the array
    bytes_of({0x91, 0xd9, 0x05, 'a'}),  // string longer than the bytes
    bytes_of({0x91, 0xc1}),             // never used
    bytes_of({0xdd, 0xff, 0xff, 0xff, 0xff, 0x01}), // huge count, one byte
    nested(max_record_depth + 1),
  };
  for (auto& bytes : inputs) {
    CAPTURE(bytes.size());
    CHECK_FALSE(scan_canonical(bytes, record_layout{}));
    CHECK(check_msgpack_array(bytes));
  }
  CHECK_FALSE(scan_canonical(nested(3), record_layout{}, 2));
}

TEST_CASE("check_owner keeps a received record only if its key slice is "
          "its key element and its partition element picks the partition, "
          "whether its bytes are canonical or not") {
  record_layout layout{0, 0};
  size_t partitions = 4;
  // [key, 5]: canonical, and the same record with 5 written as uint8.
  auto canonical = bytes_of({0x92, 0xa1, 'k', 0x05});
  auto loose = bytes_of({0x92, 0xa1, 'k', 0xcc, 0x05});
  auto loose_key = bytes_of({0x92, 0xd0, 0x05, 0x05}); // key 5 as int8
  auto mine = partition_of(record::parse(R"(["k", 5])"), layout, partitions);
  auto theirs = (mine + 1) % partitions;
  auto batch_of = [](std::vector<packed> xs) {
    std::vector<entry> result;
    for (auto& x : xs)
      result.push_back(entry{0, 0, std::move(x), 0, false});
    return result;
  };
  auto kept = [&](std::vector<entry> batch, uint32_t partition) {
    auto blanked = check_owner(batch, partition, partitions, layout);
    std::vector<bool> result;
    for (auto& x : batch)
      result.push_back(!x.value.empty());
    CHECK_EQ(blanked, std::count(result.begin(), result.end(), false));
    return result;
  };
  auto batch = batch_of({block_of(canonical, 1, 2), block_of(loose, 1, 2),
                         block_of(canonical, 3, 1), block_of(loose_key, 1, 2),
                         block_of(canonical, 0, 2)});
  CHECK_EQ(kept(batch, mine),
           (std::vector<bool>{true, true, false, false, false}));
  batch = batch_of({block_of(canonical, 1, 2), block_of(loose, 1, 2)});
  CHECK_EQ(kept(batch, theirs), (std::vector<bool>{false, false}));
  // A record too short for the layout is blanked on either path.
  record_layout wide{0, 2};
  batch = batch_of({block_of(canonical, 1, 2), block_of(loose, 1, 2)});
  CHECK_EQ(check_owner(batch, mine, partitions, wide), 2u);
}
