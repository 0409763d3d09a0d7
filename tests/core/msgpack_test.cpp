// Unit tests of the serialization of records and stream entries through CAF
// 0.17's binary serializer: records travel as their MessagePack bytes, and
// received bytes are checked before they are decoded. Validation, keys and
// partitions are in record_test.cpp.

#include <doctest/doctest.h>

#include <csignal>
#include <functional>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/sec.hpp>

#include <supercache/errc.hpp>
#include "actors/messages.hpp"
#include <supercache/record.hpp>

using namespace supercache;

namespace {

/// Serializes `x` with CAF's binary serializer (no actor system needed).
template <class T>
std::vector<char> serialize(T& x) {
  std::vector<char> buf;
  caf::binary_serializer sink{nullptr, buf};
  auto err = sink(x);
  REQUIRE_FALSE(err);
  return buf;
}

/// Deserializes `buf` into `x` with CAF's binary deserializer.
template <class T>
caf::error deserialize(const std::vector<char>& buf, T& x) {
  caf::binary_deserializer source{nullptr, buf};
  return source(x);
}

/// Records that exercise every JSON type the MessagePack form must keep.
std::vector<record> sample_records() {
  return {
    record::parse(R"([1, {"a": [1, 2, {"b": null, "c": {"d": [true]}}]}])"),
    record::array({"héllo wörld ✓", "日本語", "😀 emoji", std::string{}}),
    record::array({std::numeric_limits<uint64_t>::max(),
                   std::numeric_limits<int64_t>::min(), uint64_t{1} << 63}),
    record::array({3.25, -0.5, 1e300, 1.0, 0.1}),
    record::array({nullptr, false, true}),
    record::parse(R"([[], {}, [[[]]], {"": ""}])"),
    record::array(),
  };
}

} // namespace

// -- serialization ------------------------------------------------------------

TEST_CASE("a record survives a round trip through CAF's binary serializer") {
  for (auto x : sample_records()) {
    CAPTURE(x.dump());
    auto buf = serialize(x);
    record y = "something else";
    auto err = deserialize(buf, y);
    REQUIRE_FALSE(err);
    CHECK_EQ(y, x);
    // The exact representation survives too: same text, same number types.
    CHECK_EQ(y.dump(), x.dump());
  }
  // Unsigned integers above INT64_MAX stay unsigned.
  record big = record::array({std::numeric_limits<uint64_t>::max()});
  record back;
  REQUIRE_FALSE(deserialize(serialize(big), back));
  CHECK(back[0].is_number_unsigned());
  CHECK_EQ(back[0].get<uint64_t>(), std::numeric_limits<uint64_t>::max());
}

TEST_CASE("a record travels as its MessagePack bytes") {
  for (auto x : sample_records()) {
    CAPTURE(x.dump());
    std::string bytes;
    append_msgpack(x, bytes);
    CHECK_EQ(serialize(x), serialize(bytes));
    // Our encoder and nlohmann's agree, so either side can decode the other.
    auto theirs = record::to_msgpack(x);
    CHECK_EQ(bytes, std::string(theirs.begin(), theirs.end()));
  }
}

TEST_CASE("an entry survives a round trip through CAF's binary serializer") {
  record_layout layout;
  auto records = sample_records();
  for (size_t i = 0; i < records.size(); ++i) {
    if (validate(records[i], layout))
      continue;
    entry x{static_cast<uint32_t>(i + 3), 0,
            packed::pack(records[i], layout).first};
    CAPTURE(records[i].dump());
    auto buf = serialize(x);
    entry y{99, 99, packed::pack(record::array({"other"}), layout).first};
    REQUIRE_FALSE(deserialize(buf, y));
    CHECK_EQ(y.partition, x.partition);
    CHECK_EQ(y.barrier, 0u);
    CHECK_EQ(y.value, x.value);
    CHECK_EQ(y.value.key(), x.value.key());
    CHECK_EQ(y.value.unpack(), records[i]);
  }
  // A barrier with the largest id and no record.
  entry barrier{0, std::numeric_limits<uint64_t>::max(), packed{}};
  entry y{7, 7, packed::pack(record::array({"other"}), layout).first};
  REQUIRE_FALSE(deserialize(serialize(barrier), y));
  CHECK_EQ(y.partition, 0u);
  CHECK_EQ(y.barrier, std::numeric_limits<uint64_t>::max());
  CHECK(y.value.empty());
}

TEST_CASE("a received packed record with a corrupt header or bytes is "
          "rejected") {
  record_layout layout;
  auto good = packed::pack(record::array({1, "a"}), layout).first;
  std::string block{good.block()};
  CHECK(packed::from_block(block));
  CHECK_FALSE(packed::from_block(block.substr(0, 5)));
  CHECK_FALSE(packed::from_block(block.substr(0, block.size() - 1)));
  auto bad_key = block;
  bad_key[4] = 100; // key offset beyond the bytes
  CHECK_FALSE(packed::from_block(bad_key));
  auto bad_bytes = block;
  bad_bytes[12] = static_cast<char>(0xc1); // never used in MessagePack
  CHECK_FALSE(packed::from_block(bad_bytes));
}

TEST_CASE("deserializing garbage bytes into a record gives an error") {
  record x;
  SUBCASE("no bytes at all") {
    CHECK(deserialize(std::vector<char>{}, x));
  }
  SUBCASE("a length prefix longer than the bytes that follow") {
    CHECK(deserialize(std::vector<char>{10, 1, 2, 3}, x));
  }
  SUBCASE("a byte that is never used in MessagePack") {
    auto err = deserialize(std::vector<char>{1, static_cast<char>(0xc1)}, x);
    CHECK_EQ(err, caf::sec::invalid_argument);
  }
  SUBCASE("a truncated MessagePack array") {
    // fixarray of 3 elements with only one element present.
    auto err = deserialize(std::vector<char>{2, static_cast<char>(0x93), 1}, x);
    CHECK_EQ(err, caf::sec::invalid_argument);
  }
  SUBCASE("a valid MessagePack value followed by a stray byte") {
    auto err = deserialize(std::vector<char>{2, 1, 2}, x);
    CHECK_EQ(err, caf::sec::invalid_argument);
  }
  SUBCASE("an entry whose record bytes are garbage decodes as refused") {
    entry e{0, 0, packed::pack(record::array({1, "a"}), record_layout{}).first};
    auto buf = serialize(e);
    // The record's 4 MessagePack bytes (0x92 0x01 0xa1 'a') come right before
    // the 8 bytes of `enqueued_ns` and the 1 of `erase`: replace the array
    // header with a byte that is never used.
    auto header = buf.size() - 1 - 8 - 4;
    REQUIRE_EQ(static_cast<uint8_t>(buf[header]), 0x92);
    buf[header] = static_cast<char>(0xc1);
    // The message stays decodable; only this record is refused.
    CHECK_EQ(deserialize(buf, e), caf::none);
    CHECK(is_refused(e));
  }
}

TEST_CASE("deserializing 2,000 pseudo-random byte strings into a record never "
          "throws") {
  // Short inputs with a small length prefix, so that no input asks CAF for a
  // huge allocation; each either fails with an error or yields some value.
  uint64_t state = 0x9e3779b97f4a7c15ULL;
  auto next = [&] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  size_t errors = 0;
  size_t values = 0;
  for (int i = 0; i < 2000; ++i) {
    auto len = static_cast<size_t>(next() % 32);
    std::vector<char> buf;
    buf.push_back(static_cast<char>(len));
    for (size_t j = 0; j < len; ++j)
      buf.push_back(static_cast<char>(next()));
    record x;
    caf::error err;
    REQUIRE_NOTHROW(err = deserialize(buf, x));
    if (err)
      ++errors;
    else
      ++values;
  }
  CHECK_EQ(errors + values, 2000u);
  CHECK_GT(errors, 0u);
}

// nlohmann's MessagePack reader recurses once per nesting level, so ~60 KB of
// nested arrays from a peer would overflow the stack without the depth limit
// of `from_msgpack`. The child process isolates a crash from the suite.
TEST_CASE("deeply nested MessagePack bytes give an error rather than a stack "
          "overflow") {
  // 1,000,000 nested one-element arrays (0x91), then a null.
  std::vector<uint8_t> bytes(1000000, 0x91);
  bytes.push_back(0xc0);
  auto buf = serialize(bytes);
  auto pid = fork();
  REQUIRE_NE(pid, -1);
  if (pid == 0) {
    // Die quietly: no core file, no report from doctest's crash handler.
    rlimit no_core{0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    for (int sig : {SIGSEGV, SIGBUS, SIGABRT})
      std::signal(sig, SIG_DFL);
    record x;
    auto err = deserialize(buf, x);
    _exit(err ? 0 : 1);
  }
  int status = 0;
  REQUIRE_EQ(waitpid(pid, &status, 0), pid);
  CHECK(WIFEXITED(status));
  if (WIFEXITED(status))
    CHECK_EQ(WEXITSTATUS(status), 0);
}

TEST_CASE("unpack gives the same JSON values and types as nlohmann's "
          "from_msgpack for every kind of element") {
  std::vector<record> xs{
    record::array({0, 127, 128, 65535, 65536, 4294967296ull, -1, -32, -33,
                   -129, -32769, -2147483649ll, 1.5, -0.25, 1e300}),
    record::array({"", "value-7", std::string(40, 'x'), std::string(300, 'y'),
                   std::string(70000, 'z')}),
    record::array({nullptr, true, false, record::array(),
                   record::object(), record::binary({1, 2, 3})}),
    record::parse(R"([1, {"b": [1, {"c": null}], "a": -5}, [[[]]], 2])"),
    record::array({record::array({1, 2}), record::binary({})}),
  };
  std::vector<record> big;
  for (int i = 0; i < 70000; ++i)
    big.push_back(i);
  xs.push_back(record::array({record(big)}));
  for (auto& x : xs) {
    auto p = packed::pack(x, record_layout{}).first;
    auto b = p.bytes();
    auto want = record::from_msgpack(b.begin(), b.end(), true, false);
    auto got = p.unpack();
    REQUIRE_EQ(got, want);
    // Same types too: dump shows 1 vs 1.0, and the encoding is by type.
    CHECK_EQ(got.dump(), want.dump());
    std::string gb;
    std::string wb;
    append_msgpack(got, gb);
    append_msgpack(want, wb);
    CHECK_EQ(gb, wb);
    std::function<void(const record&, const record&)> same_types;
    same_types = [&](const record& g, const record& w) {
      REQUIRE_EQ(static_cast<int>(g.type()), static_cast<int>(w.type()));
      if (g.is_array())
        for (size_t i = 0; i < g.size(); ++i)
          same_types(g[i], w[i]);
      if (g.is_object())
        for (auto& [k, v] : w.items())
          same_types(g.at(k), v);
    };
    same_types(got, want);
  }
}

TEST_CASE("unpack_into a record of any earlier shape gives exactly what "
          "unpack gives, reusing the storage of a record of the same shape") {
  std::vector<record> xs{
    record::array({7, std::string(40, 'a')}),
    record::array({8, std::string(30, 'b')}),
    record::array({1, 2, 3, 4, 5, 6, 7, 8}),
    record::array({"short", -5, 1.5, nullptr, true}),
    record::array({record::array({1, "x"}), record::object(),
                   record::binary({1, 2})}),
    record::parse(R"([1, {"b": [1, {"c": null}], "a": -5}, [[[]]], 2])"),
    record::array(),
  };
  std::vector<record> earlier = xs;
  earlier.push_back(record(5));
  earlier.push_back(record("a string"));
  earlier.push_back(record::object({{"k", 1}}));
  earlier.push_back(record(nullptr));
  for (auto& x : xs) {
    auto p = packed::pack(x, record_layout{}).first;
    for (auto& before : earlier) {
      auto out = before;
      p.unpack_into(out);
      REQUIRE_EQ(out, x);
      CHECK_EQ(out.dump(), p.unpack().dump());
    }
  }
  // Same shape: the array and the string keep their storage.
  auto out = xs[0];
  auto* elements = out.get_ref<record::array_t&>().data();
  auto* chars = out[1].get_ref<std::string&>().data();
  packed::pack(xs[1], record_layout{}).first.unpack_into(out);
  CHECK_EQ(out, xs[1]);
  CHECK_EQ(out.get_ref<record::array_t&>().data(), elements);
  CHECK_EQ(out[1].get_ref<std::string&>().data(), chars);
}
