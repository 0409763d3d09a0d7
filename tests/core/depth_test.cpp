// The one nesting limit, `max_record_depth`: records at it are valid, one
// level deeper are `invalid_record`, and records nested 100,000 levels deep
// are refused on every path without overflowing the stack (the checks and
// the encoder iterate; nlohmann 3.11 parses and destroys without recursion).
// The paths through the instance are in tests/instance/depth_test.cpp, the
// node's NDJSON ingest in tests/node/ingest_test.cpp.

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>

#include <supercache/errc.hpp>
#include <supercache/record.hpp>

#include "actors/messages.hpp"
#include "core/packed.hpp"
#include "core/table.hpp"

using namespace supercache;

namespace {

/// Returns `["k", [[...[1]...]]]` nested `depth` levels deep in all.
record nested_record(size_t depth) {
  record inner = 1;
  for (size_t i = 1; i < depth; ++i) {
    auto outer = record::array();
    outer.push_back(std::move(inner));
    inner = std::move(outer);
  }
  auto result = record::array({"k"});
  result.push_back(std::move(inner));
  return result;
}

/// Returns a block as `packed::block()` lays it out: a 12-byte header (size,
/// key offset, key size) and `bytes`, whose key is its first `key_size`
/// bytes after the array header byte.
std::string forged_block(const std::string& bytes, uint32_t key_size) {
  uint32_t header[3] = {static_cast<uint32_t>(bytes.size()), 1, key_size};
  std::string result(reinterpret_cast<const char*>(header), sizeof(header));
  return result + bytes;
}

/// MessagePack of `["k", [[...]]]`: 100,000 levels in all.
std::string deep_bytes() {
  std::string bytes{"\x92\xa1k"};
  bytes.append(99999, static_cast<char>(0x91));
  bytes.push_back(1);
  return bytes;
}

} // namespace

TEST_CASE("validate accepts a record nested max_record_depth levels, which "
          "travels and unpacks unchanged, and refuses one level deeper with "
          "invalid_record") {
  record_layout layout;
  CHECK_EQ(max_record_depth, 512u);
  auto x = nested_record(max_record_depth);
  CHECK_EQ(validate(x, layout), caf::none);
  auto value = packed::pack(x, layout).first;
  CHECK(packed::from_block(value.block()));
  CHECK_EQ(value.unpack(), x);
  auto err = validate(nested_record(max_record_depth + 1), layout);
  CHECK_EQ(err, errc::invalid_record);
  CHECK_NE(render(err).find("at most 512 levels"), std::string::npos);
  // Objects count as levels too.
  record obj = 1;
  for (size_t i = 1; i < max_record_depth + 1; ++i)
    obj = record{{"a", std::move(obj)}};
  CHECK_EQ(validate(record::array({"key", std::move(obj)}), layout),
           errc::invalid_record);
}

TEST_CASE("a record nested 100,000 levels is refused by validate and "
          "encoded by append_msgpack without overflowing the stack") {
  auto x = nested_record(100000);
  CHECK_EQ(validate(x, record_layout{}), errc::invalid_record);
  std::string bytes;
  append_msgpack(x, bytes);
  CHECK(bytes == deep_bytes());
  CHECK_FALSE(from_msgpack(bytes));
  CHECK(check_msgpack_array(bytes));
}

TEST_CASE("a JSON line nested 100,000 levels parses and is destroyed without "
          "overflowing the stack") {
  std::string line = "[\"key\"," + std::string(99999, '[') + "1"
                     + std::string(99999, ']') + "]";
  auto x = record::parse(line, nullptr, false);
  REQUIRE_FALSE(x.is_discarded());
  CHECK_EQ(validate(x, record_layout{}), errc::invalid_record);
}

TEST_CASE("a forged batch whose middle block is nested 100,000 levels "
          "decodes whole: that entry is refused, the others are stored") {
  record_layout layout;
  std::vector<entry> batch;
  batch.push_back({0, 0, packed::pack(record::array({1, "a"}), layout).first});
  batch.push_back({0, 0, packed::pack(record::array({2, "b"}), layout).first});
  batch.push_back({0, 0, packed::pack(record::array({3, "c"}), layout).first});
  batch.push_back({0, 42, packed{}});
  // Swap the middle record's block for the forged one in the batch's wire
  // form (`write_batch`: each block follows its u64 little-endian size), so
  // the bytes before and after stay valid.
  std::string block;
  write_batch(batch, block);
  auto good = std::string{batch[1].value.block()};
  auto forged = forged_block(deep_bytes(), 2);
  auto at = block.find(good);
  REQUIRE_NE(at, std::string::npos);
  std::string size(8, '\0');
  for (size_t i = 0; i < 8; ++i)
    size[i] = static_cast<char>((forged.size() >> (8 * i)) & 0xff);
  REQUIRE_EQ(static_cast<size_t>(block[at - 8]), good.size());
  block = block.substr(0, at - 8) + size + forged
          + block.substr(at + good.size());
  // CAF's framing of the batch: its entry count, then the block's size.
  std::vector<char> buf;
  caf::binary_serializer sink{nullptr, buf};
  auto n = batch.size();
  auto bytes = block.size();
  REQUIRE_FALSE(sink.begin_sequence(n));
  REQUIRE_FALSE(sink.begin_sequence(bytes));
  REQUIRE_FALSE(sink.apply_raw(bytes, block.data()));
  std::string wire{buf.begin(), buf.end()};
  std::vector<entry> got;
  caf::binary_deserializer source{nullptr, wire.data(), wire.size()};
  REQUIRE_EQ(source(got), caf::none);
  REQUIRE_EQ(got.size(), 4u);
  CHECK_FALSE(is_refused(got[0]));
  CHECK(is_refused(got[1]));
  CHECK_FALSE(is_refused(got[2]));
  CHECK_FALSE(is_refused(got[3]));
  CHECK_EQ(got[3].barrier, 42u);
  table tbl{table_type::set, layout};
  CHECK_EQ(tbl.insert(got), 2u);
  CHECK_EQ(tbl.size(), 2u);
}
