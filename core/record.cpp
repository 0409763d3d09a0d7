#include <supercache/record.hpp>

#include <algorithm>
#include <cstring>
#include <functional>
#include <limits>
#include <utility>
#include <vector>

#include <caf/sec.hpp>

#include <supercache/errc.hpp>

#include "core/canonical.hpp"

namespace supercache {

namespace {

/// Mixes the bits of a hash (splitmix64 finalizer), so that partitions and
/// table slots use independent bits.
uint64_t mix(uint64_t x) noexcept {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

template <class T>
void put_be(std::string& out, T x) {
  char buf[sizeof(T)];
  for (size_t i = 0; i < sizeof(T); ++i)
    buf[i] = static_cast<char>((static_cast<uint64_t>(x)
                                >> (8 * (sizeof(T) - 1 - i)))
                               & 0xff);
  out.append(buf, sizeof(T));
}

void put_byte(std::string& out, uint8_t x) {
  out.push_back(static_cast<char>(x));
}

void put_unsigned(std::string& out, uint64_t x) {
  if (x < 128) {
    put_byte(out, static_cast<uint8_t>(x));
  } else if (x <= 0xff) {
    put_byte(out, 0xcc);
    put_be<uint8_t>(out, static_cast<uint8_t>(x));
  } else if (x <= 0xffff) {
    put_byte(out, 0xcd);
    put_be<uint16_t>(out, static_cast<uint16_t>(x));
  } else if (x <= 0xffffffffULL) {
    put_byte(out, 0xce);
    put_be<uint32_t>(out, static_cast<uint32_t>(x));
  } else {
    put_byte(out, 0xcf);
    put_be<uint64_t>(out, x);
  }
}

void put_signed(std::string& out, int64_t x) {
  if (x >= 0) {
    put_unsigned(out, static_cast<uint64_t>(x));
  } else if (x >= -32) {
    put_byte(out, static_cast<uint8_t>(x));
  } else if (x >= INT8_MIN) {
    put_byte(out, 0xd0);
    put_be<uint8_t>(out, static_cast<uint8_t>(x));
  } else if (x >= INT16_MIN) {
    put_byte(out, 0xd1);
    put_be<uint16_t>(out, static_cast<uint16_t>(x));
  } else if (x >= INT32_MIN) {
    put_byte(out, 0xd2);
    put_be<uint32_t>(out, static_cast<uint32_t>(x));
  } else {
    put_byte(out, 0xd3);
    put_be<uint64_t>(out, static_cast<uint64_t>(x));
  }
}

/// Writes a length header: `fix` form below `fix_limit`, else 16 or 32 bit.
void put_length(std::string& out, size_t n, uint8_t fix, size_t fix_limit,
                uint8_t len8, uint8_t len16, uint8_t len32) {
  if (n < fix_limit) {
    put_byte(out, static_cast<uint8_t>(fix | n));
  } else if (len8 != 0 && n <= 0xff) {
    put_byte(out, len8);
    put_be<uint8_t>(out, static_cast<uint8_t>(n));
  } else if (n <= 0xffff) {
    put_byte(out, len16);
    put_be<uint16_t>(out, static_cast<uint16_t>(n));
  } else {
    put_byte(out, len32);
    put_be<uint32_t>(out, static_cast<uint32_t>(n));
  }
}

void put_string(std::string& out, const std::string& x) {
  put_length(out, x.size(), 0xa0, 32, 0xd9, 0xda, 0xdb);
  out.append(x);
}

/// Accepts MessagePack only up to a nesting depth, so that hostile input
/// cannot exhaust the stack of nlohmann's recursive reader.
class depth_limit : public nlohmann::json_sax<record> {
public:
  explicit depth_limit(size_t max_depth) : max_depth_(max_depth) {
    // nop
  }

  bool null() override {
    return true;
  }
  bool boolean(bool) override {
    return true;
  }
  bool number_integer(number_integer_t) override {
    return true;
  }
  bool number_unsigned(number_unsigned_t) override {
    return true;
  }
  bool number_float(number_float_t, const string_t&) override {
    return true;
  }
  bool string(string_t&) override {
    return true;
  }
  bool binary(binary_t&) override {
    return true;
  }
  bool start_object(std::size_t) override {
    return ++depth_ <= max_depth_;
  }
  bool key(string_t&) override {
    return true;
  }
  bool end_object() override {
    --depth_;
    return true;
  }
  bool start_array(std::size_t) override {
    return ++depth_ <= max_depth_;
  }
  bool end_array() override {
    --depth_;
    return true;
  }
  bool parse_error(std::size_t, const std::string&,
                   const nlohmann::detail::exception&) override {
    return false;
  }

private:
  size_t max_depth_;
  size_t depth_ = 0;
};

/// Appends the MessagePack encoding of `x`, which is neither an array nor an
/// object.
void append_scalar(const record& x, std::string& out) {
  using value_t = record::value_t;
  switch (x.type()) {
    case value_t::boolean:
      put_byte(out, x.get<bool>() ? 0xc3 : 0xc2);
      return;
    case value_t::number_integer:
      put_signed(out, x.get<int64_t>());
      return;
    case value_t::number_unsigned:
      put_unsigned(out, x.get<uint64_t>());
      return;
    case value_t::number_float: {
      // Like nlohmann: float32 when that is lossless, float64 otherwise.
      auto f = x.get<double>();
      if (f >= static_cast<double>(std::numeric_limits<float>::lowest())
          && f <= static_cast<double>(std::numeric_limits<float>::max())
          && static_cast<double>(static_cast<float>(f)) == f) {
        auto g = static_cast<float>(f);
        uint32_t bits;
        std::memcpy(&bits, &g, sizeof(bits));
        put_byte(out, 0xca);
        put_be<uint32_t>(out, bits);
        return;
      }
      uint64_t bits;
      std::memcpy(&bits, &f, sizeof(bits));
      put_byte(out, 0xcb);
      put_be<uint64_t>(out, bits);
      return;
    }
    case value_t::string:
      put_string(out, x.get_ref<const std::string&>());
      return;
    case value_t::binary: {
      auto& bin = x.get_binary();
      put_length(out, bin.size(), 0, 0, 0xc4, 0xc5, 0xc6);
      out.append(reinterpret_cast<const char*>(bin.data()), bin.size());
      return;
    }
    default: // null, discarded (arrays and objects are not scalars)
      put_byte(out, 0xc0);
      return;
  }
}

/// Returns whether `x` nests at most `max_depth` levels (an array or object
/// is one level more than its deepest element), without recursion.
bool within_depth(const record& x, size_t max_depth) {
  if (!x.is_structured())
    return true;
  // Allocates only for records with nested containers.
  std::vector<std::pair<const record*, size_t>> todo;
  auto visit = [&](const record& y, size_t depth) {
    for (auto& z : y)
      if (z.is_structured())
        todo.emplace_back(&z, depth + 1);
  };
  if (max_depth < 1)
    return false;
  visit(x, 1);
  while (!todo.empty()) {
    auto [y, depth] = todo.back();
    todo.pop_back();
    if (depth > max_depth)
      return false;
    visit(*y, depth);
  }
  return true;
}

} // namespace

caf::error validate(const record& x, const record_layout& layout) {
  if (!x.is_array())
    return make_error(errc::invalid_record,
                      std::string{"a record must be a JSON array, got "}
                        + x.type_name());
  auto needed = std::max(layout.key_pos, layout.partition_pos) + 1;
  if (x.size() < needed)
    return make_error(errc::invalid_record,
                      "a record needs at least " + std::to_string(needed)
                        + " elements (key-pos "
                        + std::to_string(layout.key_pos) + ", partition-pos "
                        + std::to_string(layout.partition_pos) + "), got "
                        + std::to_string(x.size()));
  if (!within_depth(x, max_record_depth))
    return make_error(errc::invalid_record,
                      "a record may nest at most "
                        + std::to_string(max_record_depth) + " levels deep");
  return caf::none;
}

void append_msgpack(const record& x, std::string& out) {
  // An explicit stack of the containers being written, so that the depth of
  // `x` never reaches the call stack.
  struct frame {
    const record* container;
    record::const_iterator next;
  };
  std::vector<frame> open;
  auto begin = [&](const record& y) {
    if (y.is_array())
      put_length(out, y.size(), 0x90, 16, 0, 0xdc, 0xdd);
    else if (y.is_object())
      put_length(out, y.size(), 0x80, 16, 0, 0xde, 0xdf);
    else
      return append_scalar(y, out);
    open.push_back({&y, y.cbegin()});
  };
  begin(x);
  while (!open.empty()) {
    auto& top = open.back();
    if (top.next == top.container->cend()) {
      open.pop_back();
      continue;
    }
    auto i = top.next++;
    if (top.container->is_object())
      put_string(out, i.key());
    begin(*i); // may invalidate `top`
  }
}

caf::error check_msgpack_array(std::string_view bytes, size_t max_depth) {
  // What this library writes passes in one allocation-free pass; the rest
  // is decided by nlohmann's reader.
  if (scan_canonical(bytes, record_layout{}, max_depth))
    return caf::none;
  auto first = bytes.empty() ? 0 : static_cast<uint8_t>(bytes.front());
  auto is_array = (first >= 0x90 && first <= 0x9f) || first == 0xdc
                  || first == 0xdd;
  if (!is_array)
    return caf::make_error(caf::sec::invalid_argument,
                           "packed record is not a MessagePack array");
  depth_limit limit{max_depth};
  if (!record::sax_parse(bytes.begin(), bytes.end(), &limit,
                         record::input_format_t::msgpack, true))
    return caf::make_error(caf::sec::invalid_argument,
                           "malformed or too deeply nested MessagePack");
  return caf::none;
}

caf::expected<record> from_msgpack(std::string_view bytes, size_t max_depth) {
  depth_limit limit{max_depth};
  if (!record::sax_parse(bytes.begin(), bytes.end(), &limit,
                         record::input_format_t::msgpack, true))
    return caf::make_error(caf::sec::invalid_argument,
                           "malformed or too deeply nested MessagePack");
  auto result = record::from_msgpack(bytes.begin(), bytes.end(), true, false);
  if (result.is_discarded())
    return caf::make_error(caf::sec::invalid_argument,
                           "malformed MessagePack");
  return result;
}

std::string key_of(const record& x, const record_layout& layout) {
  std::string result;
  append_msgpack(x[layout.key_pos], result);
  return result;
}

uint64_t partition_hash(std::string_view element_bytes) noexcept {
  return partition_hash_from(std::hash<std::string_view>{}(element_bytes));
}

uint64_t partition_hash_from(size_t bytes_hash) noexcept {
  return mix(bytes_hash);
}

uint32_t partition_of(const record& x, const record_layout& layout,
                      size_t partitions) {
  if (partitions <= 1)
    return 0;
  std::string bytes;
  append_msgpack(x[layout.partition_pos], bytes);
  return partition_index(partition_hash(bytes), partitions);
}

} // namespace supercache
