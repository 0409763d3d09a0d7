// Unit tests of a stream batch's wire form: one block per batch
// (`write_batch`, `read_batch` and the `inspect` of `std::vector<entry>` in
// actors/messages.hpp), as BASP carries it between nodes.

#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/sec.hpp>

#include "actors/messages.hpp"
#include <supercache/record.hpp>

using namespace supercache;

namespace {

/// CAF's framing of a batch around `block`: the count `n`, the block's size.
std::vector<char> frame(size_t n, size_t size, const std::string& block) {
  std::vector<char> buf;
  caf::binary_serializer sink{nullptr, buf};
  REQUIRE_FALSE(sink.begin_sequence(n));
  REQUIRE_FALSE(sink.begin_sequence(size));
  if (!block.empty())
    REQUIRE_FALSE(sink.apply_raw(block.size(),
                                 const_cast<char*>(block.data())));
  return buf;
}

caf::error load(const std::vector<char>& buf, std::vector<entry>& xs) {
  caf::binary_deserializer source{nullptr, buf.data(), buf.size()};
  return source(xs);
}

std::vector<entry> sample_batch() {
  record_layout layout;
  std::vector<entry> xs;
  xs.push_back({1, 0, packed::pack(record::array({1, "a"}), layout).first,
                123456789, false});
  auto big = record::array({2, std::string(300, 'x')}); // on the heap
  xs.push_back({0, 0, packed::pack(big, layout).first, 0, false});
  xs.push_back({1, 0, packed::pack(record::array({1}), layout).first, -5,
                true}); // a lazy erase
  xs.push_back({0, 7, packed{}, 0, false}); // a barrier
  xs.push_back({1, 0, packed{}, 0, false}); // a refused record
  return xs;
}

} // namespace

TEST_CASE("a stream batch survives CAF's binary serializer as one block: "
          "every field, record, barrier and refused entry") {
  auto xs = sample_batch();
  std::vector<char> buf;
  caf::binary_serializer sink{nullptr, buf};
  REQUIRE_FALSE(sink(xs));
  std::vector<entry> got;
  REQUIRE_EQ(load(buf, got), caf::none);
  REQUIRE_EQ(got.size(), xs.size());
  for (size_t i = 0; i < xs.size(); ++i) {
    CAPTURE(i);
    CHECK_EQ(got[i].partition, xs[i].partition);
    CHECK_EQ(got[i].barrier, xs[i].barrier);
    CHECK_EQ(got[i].enqueued_ns, xs[i].enqueued_ns);
    CHECK_EQ(got[i].erase, xs[i].erase);
    CHECK(got[i].value == xs[i].value);
    CHECK_EQ(got[i].value.key(), xs[i].value.key());
  }
  CHECK(is_barrier(got[3]));
  CHECK(is_refused(got[4]));
  // An empty batch too.
  std::vector<entry> none;
  std::vector<char> empty_buf;
  caf::binary_serializer empty_sink{nullptr, empty_buf};
  REQUIRE_FALSE(empty_sink(none));
  got = xs;
  REQUIRE_EQ(load(empty_buf, got), caf::none);
  CHECK(got.empty());
}

TEST_CASE("a forged batch whose count or sizes exceed its message fails "
          "whole with end_of_stream, before anything is allocated for them") {
  std::string block;
  write_batch(sample_batch(), block);
  std::vector<entry> got;
  // More entries than the block could hold.
  CHECK_EQ(load(frame(size_t{1} << 30, block.size(), block), got),
           caf::sec::end_of_stream);
  // A block size beyond the message.
  CHECK_EQ(load(frame(5, size_t{1} << 31, block), got),
           caf::sec::end_of_stream);
  // One entry too many for the bytes, and one too few (trailing bytes).
  CHECK_EQ(load(frame(6, block.size(), block), got), caf::sec::end_of_stream);
  CHECK_EQ(load(frame(4, block.size(), block), got), caf::sec::end_of_stream);
  // A record size beyond the block: the first entry's size field (after
  // partition, barrier, enqueued_ns and erase) set to 2^40.
  auto forged = block;
  forged[entry_wire_size - 8 + 5] = 1;
  CHECK_EQ(load(frame(5, forged.size(), forged), got),
           caf::sec::end_of_stream);
  // The untouched block still loads.
  CHECK_EQ(load(frame(5, block.size(), block), got), caf::none);
  CHECK_EQ(got.size(), 5u);
}

TEST_CASE("a block in a batch that fails its checks refuses only its entry") {
  auto xs = sample_batch();
  std::string block;
  write_batch(xs, block);
  // Corrupt the first record's MessagePack: its array header byte becomes
  // 0xc1, which MessagePack never uses.
  auto at = entry_wire_size + packed::header_size;
  REQUIRE_EQ(static_cast<uint8_t>(block[at]), 0x92);
  block[at] = static_cast<char>(0xc1);
  std::vector<entry> got;
  REQUIRE_EQ(load(frame(5, block.size(), block), got), caf::none);
  REQUIRE_EQ(got.size(), 5u);
  CHECK(is_refused(got[0]));
  CHECK_FALSE(is_refused(got[1]));
  CHECK(got[1].value == xs[1].value);
  CHECK_FALSE(is_refused(got[2]));
  CHECK(is_barrier(got[3]));
}
