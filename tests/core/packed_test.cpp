// Tests of the packed record's two forms: inline (at most
// `packed::inline_capacity` MessagePack bytes, no heap block) and on the heap.
// Both must give the same bytes, key, wire form and decoded record.

#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>

#include "actors/messages.hpp"
#include "core/packed.hpp"

using namespace supercache;

namespace {

/// Returns `[1, "xxx..."]` whose MessagePack form is exactly `size` bytes
/// (3 <= size <= 33: a fixarray, a positive fixint and a fixstr).
record record_of_size(size_t size) {
  return record::array({1, std::string(size - 3, 'x')});
}

/// Returns the wire form of `x` built by hand: the 12-byte header (size, key
/// offset, key size in host byte order), then the bytes.
std::string wire_form(const std::vector<uint8_t>& bytes, uint32_t key_offset,
                      uint32_t key_size) {
  uint32_t header[3] = {static_cast<uint32_t>(bytes.size()), key_offset,
                        key_size};
  std::string result(reinterpret_cast<const char*>(header), 12);
  result.append(bytes.begin(), bytes.end());
  return result;
}

} // namespace

TEST_CASE("a packed record of at most inline_capacity bytes is held inline, "
          "a larger one on the heap, with the same bytes, key and wire form") {
  record_layout layout;
  for (size_t size = 3; size <= 33; ++size) {
    CAPTURE(size);
    auto x = record_of_size(size);
    auto bytes = record::to_msgpack(x);
    REQUIRE_EQ(bytes.size(), size);
    auto [p, hash] = packed::pack(x, layout);
    (void) hash;
    CHECK_EQ(p.bytes(), std::string(bytes.begin(), bytes.end()));
    CHECK_EQ(p.key(), std::string_view{"\x01", 1});
    CHECK_EQ(p.heap_bytes(), size <= packed::inline_capacity ? 0 : 12 + size);
    CHECK_EQ(p.block_size(), 12 + size);
    CHECK_EQ(p.block(), wire_form(bytes, 1, 1));
    CHECK_EQ(p.unpack(), x);
    auto reloaded = packed::from_block(p.block());
    REQUIRE(reloaded);
    CHECK_EQ(reloaded->bytes(), p.bytes());
    CHECK_EQ(reloaded->key(), p.key());
    CHECK_EQ(reloaded->heap_bytes(), p.heap_bytes());
    // Copies and moves keep the record; a moved-from one is empty.
    packed copy{p};
    CHECK_EQ(copy, p);
    CHECK_EQ(copy.heap_bytes(), p.heap_bytes());
    packed moved{std::move(copy)};
    CHECK(copy.empty());
    CHECK_EQ(moved, p);
    auto& alias = moved;
    moved = std::move(alias); // a self-move keeps the record
    CHECK_EQ(moved, p);
    packed assigned;
    assigned = moved;
    CHECK_EQ(assigned, p);
    assigned = packed{};
    CHECK(assigned.empty());
    CHECK_EQ(assigned.block_size(), 0u);
  }
}

TEST_CASE("a default packed record is all zero bytes, "
          "so a table's zeroed slot array needs no initialization") {
  const char zeros[sizeof(packed)] = {};
  packed empty;
  CHECK(std::memcmp(&empty, zeros, sizeof(packed)) == 0);
  auto [x, hash] = packed::pack(record::array({1, "value-1"}), record_layout{});
  static_cast<void>(hash);
  REQUIRE(!x.empty());
  CHECK(std::memcmp(&x, zeros, sizeof(packed)) != 0);
}

TEST_CASE("the key of an inline record may lie anywhere in its bytes") {
  record_layout layout{2, 0};
  auto x = record::array({"p", 7, "key"});
  auto p = packed::pack(x, layout).first;
  REQUIRE_EQ(p.heap_bytes(), 0u);
  auto key = record::to_msgpack(record("key"));
  CHECK_EQ(p.key(), std::string(key.begin(), key.end()));
  CHECK_EQ(p.unpack(), x);
}

TEST_CASE("a packed record crosses CAF's binary serializer in its wire form, "
          "inline or on the heap") {
  record_layout layout;
  for (size_t size : {size_t{5}, packed::inline_capacity,
                      packed::inline_capacity + 1, size_t{33}}) {
    CAPTURE(size);
    auto x = record_of_size(size);
    entry e{3, 0, packed::pack(x, layout).first};
    std::vector<char> buf;
    caf::binary_serializer sink{nullptr, buf};
    REQUIRE_FALSE(sink(e));
    // The wire form appears whole in the message.
    auto bytes = record::to_msgpack(x);
    auto wire = wire_form(bytes, 1, 1);
    CHECK_NE(std::string(buf.begin(), buf.end()).find(wire), std::string::npos);
    entry y;
    caf::binary_deserializer source{nullptr, buf};
    REQUIRE_FALSE(source(y));
    CHECK_EQ(y.partition, 3u);
    CHECK_EQ(y.value, e.value);
    CHECK_EQ(y.value.key(), e.value.key());
    CHECK_EQ(y.value.heap_bytes(), e.value.heap_bytes());
    CHECK_EQ(y.value.unpack(), x);
  }
}

TEST_CASE("a received block that fails the checks gives an empty packed "
          "record, inline-sized or not") {
  record_layout layout;
  for (size_t size : {size_t{5}, size_t{33}}) {
    CAPTURE(size);
    auto block = packed::pack(record_of_size(size), layout).first.block();
    auto corrupt = block;
    corrupt[4] = 100; // key offset beyond the bytes
    for (auto& bad : {corrupt, block.substr(0, block.size() - 1)}) {
      auto y = packed::receive(bad.size(), [&](char* out) {
        std::copy(bad.begin(), bad.end(), out);
        return caf::error{};
      });
      REQUIRE(y);
      CHECK(y->empty());
      CHECK_FALSE(packed::from_block(bad));
    }
  }
}
