// Fuzz target for records: what a producer or a peer can hand to supercache.
//
// Every input is used three ways:
// 1. as JSON text: a record that `validate` accepts (for three layouts, two
//    of them picked by the first byte) must give its key and partition, pack
//    and unpack to an equal record, keep its key as a slice of the packed
//    bytes, pick the same partition from `pack`'s hash as from
//    `partition_of`, and survive CAF's binary serializer as a record and
//    inside an entry; `validate` refuses exactly the records nested deeper
//    than `max_record_depth`, which a receiver also rejects;
// 2. as MessagePack bytes: `from_msgpack` and `packed::from_block` must only
//    return errors, and what they accept must encode, unpack and re-load;
// 3. as CAF binary serializer output: deserializing a record, an entry and a
//    batch of entries must only return errors, never crash.
//
// A property that does not hold aborts (also in builds with NDEBUG), which
// libFuzzer and the regression driver report as a crash.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/error.hpp>

#include "tests/fuzz/fuzz_check.hpp"
#include "actors/messages.hpp"
#include "core/canonical.hpp"
#include "core/packed.hpp"
#include <supercache/record.hpp>

using namespace supercache;

namespace {


/// Nesting depth that a receiver accepts (the default of `from_msgpack`).
constexpr size_t wire_depth = max_record_depth;

/// Largest partition count tried.
constexpr size_t max_partitions = 7;

/// Returns the nesting depth of `x` as `from_msgpack` counts it: 0 for a
/// scalar, 1 for a flat array or object.
size_t depth(const record& x) {
  if (!x.is_structured())
    return 0;
  size_t deepest = 0;
  for (auto& y : x)
    deepest = std::max(deepest, depth(y));
  return deepest + 1;
}

template <class T>
std::vector<char> serialize(T& x) {
  std::vector<char> buf;
  caf::binary_serializer sink{nullptr, buf};
  auto err = sink(x);
  FUZZ_CHECK(!err);
  return buf;
}

template <class T>
caf::error deserialize(const char* data, size_t size, T& x) {
  caf::binary_deserializer source{nullptr, data, size};
  return source(x);
}

template <class T>
caf::error deserialize(const std::vector<char>& buf, T& x) {
  return deserialize(buf.data(), buf.size(), x);
}

// -- 1. JSON text ---------------------------------------------------------------

void check_valid_record(const record& x, const record_layout& layout) {
  auto key = key_of(x, layout);
  FUZZ_CHECK(!key.empty());
  uint32_t partition[max_partitions + 1];
  for (size_t n = 1; n <= max_partitions; ++n) {
    partition[n] = partition_of(x, layout, n);
    FUZZ_CHECK(partition[n] < n);
  }
  auto [value, hash] = packed::pack(x, layout);
  FUZZ_CHECK(!value.empty());
  FUZZ_CHECK(value.unpack() == x);
  FUZZ_CHECK(value.key() == key);
  // The stored bytes are the record's MessagePack encoding, so that a bag's
  // byte comparison agrees with record equality.
  std::string bytes;
  append_msgpack(x, bytes);
  FUZZ_CHECK(value.bytes() == bytes);
  // lazy_put routes by pack's hash, get by partition_of: they must agree.
  for (size_t n = 1; n <= max_partitions; ++n)
    FUZZ_CHECK(partition_index(hash, n) == partition[n]);
  // As an entry through CAF's serializer (a stream batch to a remote cache).
  // A valid record is never too deep for a receiver.
  FUZZ_CHECK(depth(x) <= wire_depth);
  entry e{static_cast<uint32_t>(partition[max_partitions]), 0, value, 42};
  entry received;
  auto err = deserialize(serialize(e), received);
  FUZZ_CHECK(!err && !is_refused(received));
  {
    FUZZ_CHECK(received.partition == e.partition);
    FUZZ_CHECK(received.barrier == 0);
    FUZZ_CHECK(received.enqueued_ns == 42);
    FUZZ_CHECK(received.value == value);
    FUZZ_CHECK(received.value.key() == value.key());
  }
}

void check_json(std::string_view text) {
  auto x = record::parse(text.begin(), text.end(), nullptr, false);
  if (x.is_discarded())
    return;
  // Any JSON value survives CAF's serializer as a record, exactly (same
  // text, same number types), up to the receiver's depth limit.
  {
    auto copy = x;
    record received = "something else";
    auto err = deserialize(serialize(copy), received);
    auto deep = depth(x) > wire_depth;
    FUZZ_CHECK(static_cast<bool>(err) == deep);
    if (!deep) {
      FUZZ_CHECK(received == x);
      FUZZ_CHECK(received.dump() == x.dump());
    }
  }
  auto b = text.empty() ? uint8_t{0} : static_cast<uint8_t>(text[0]);
  const record_layout layouts[] = {
    {0, 0},
    {size_t{b} & 3u, (size_t{b} >> 2) & 3u},
    {(size_t{b} >> 4) & 7u, size_t{b} >> 7},
  };
  auto deep = depth(x) > wire_depth;
  for (auto& layout : layouts)
    if (!validate(x, layout))
      check_valid_record(x, layout);
    else if (x.is_array() && x.size() > std::max(layout.key_pos,
                                                 layout.partition_pos))
      FUZZ_CHECK(deep); // refused for its depth only
}

// -- 2. MessagePack bytes --------------------------------------------------------

/// Returns whether `x` holds an object or a binary anywhere (which
/// `scan_canonical` leaves to the full check).
bool has_map_or_binary(const record& x) {
  if (x.is_object() || x.is_binary())
    return true;
  if (x.is_array())
    for (auto& y : x)
      if (has_map_or_binary(y))
        return true;
  return false;
}

/// `scan_canonical` accepts exactly the bytes that are our own encoding of
/// what they decode to (`once`), maps and binaries aside, and its spans are
/// the encodings of the key and partition elements, for two layouts.
void check_canonical(std::string_view bytes, const record& x,
                     const std::string& once) {
  for (auto layout : {record_layout{0, 0}, record_layout{2, 1}}) {
    auto c = scan_canonical(bytes, layout);
    if (!c) {
      FUZZ_CHECK(once != bytes || !x.is_array() || has_map_or_binary(x));
      continue;
    }
    FUZZ_CHECK(once == bytes && x.is_array() && !has_map_or_binary(x));
    FUZZ_CHECK(c->elements == x.size());
    if (layout.key_pos < x.size())
      FUZZ_CHECK(c->key == key_of(x, layout));
    if (layout.partition_pos < x.size()) {
      std::string part;
      append_msgpack(x[layout.partition_pos], part);
      FUZZ_CHECK(c->partition == part);
    }
  }
}

void check_msgpack(std::string_view bytes) {
  // The validation without decoding accepts exactly the arrays that decode.
  auto decoded = from_msgpack(bytes);
  FUZZ_CHECK(!check_msgpack_array(bytes)
             == (decoded.engaged() && decoded->is_array()));
  if (auto x = std::move(decoded)) {
    // Our encoding of whatever was decoded decodes again, and encoding is
    // canonical: decoding and encoding that once more gives the same bytes.
    std::string once;
    append_msgpack(*x, once);
    auto y = from_msgpack(once);
    FUZZ_CHECK(y.engaged());
    std::string twice;
    append_msgpack(*y, twice);
    FUZZ_CHECK(once == twice);
    check_canonical(bytes, *x, once);
    record_layout layout;
    if (!validate(*x, layout)) {
      auto value = packed::pack(*x, layout).first;
      FUZZ_CHECK(value.unpack().is_array());
      auto reloaded = packed::from_block(value.block());
      FUZZ_CHECK(reloaded.engaged());
      FUZZ_CHECK(*reloaded == value);
    }
  }
  if (auto value = packed::from_block(bytes)) {
    FUZZ_CHECK(value->block() == bytes);
    auto x = value->unpack();
    FUZZ_CHECK(x.is_array());
    auto key = value->key();
    auto all = value->bytes();
    FUZZ_CHECK(key.data() >= all.data()
               && key.data() + key.size() <= all.data() + all.size());
    auto reloaded = packed::from_block(value->block());
    FUZZ_CHECK(reloaded.engaged());
    FUZZ_CHECK(*reloaded == *value);
  }
}

// -- 3. CAF binary serializer output ----------------------------------------------

void check_unpack(const entry& e) {
  if (!e.value.empty())
    FUZZ_CHECK(e.value.unpack().is_array());
}

void check_caf(const char* data, size_t size) {
  {
    record x;
    static_cast<void>(deserialize(data, size, x));
  }
  {
    entry e;
    if (!deserialize(data, size, e))
      check_unpack(e);
  }
  {
    std::vector<entry> batch;
    if (!deserialize(data, size, batch))
      for (auto& e : batch)
        check_unpack(e);
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto chars = reinterpret_cast<const char*>(data);
  std::string_view bytes{chars, size};
  check_json(bytes);
  check_msgpack(bytes);
  check_caf(chars, size);
  return 0;
}
