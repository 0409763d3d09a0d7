#include "core/pattern.hpp"

#include <cstdint>
#include <cstring>

#include <supercache/errc.hpp>

namespace supercache {

namespace {

/// Reads a big-endian unsigned integer of `n` bytes at `p`.
uint64_t read_be(const char* p, size_t n) noexcept {
  uint64_t x = 0;
  for (size_t i = 0; i < n; ++i)
    x = (x << 8) | static_cast<uint8_t>(p[i]);
  return x;
}

/// The parts of one MessagePack header: its own size, the payload bytes
/// that follow it, and the number of elements that follow it.
struct header_info {
  size_t size = 0;
  uint64_t payload = 0;
  uint64_t children = 0;
};

/// Decodes the header at the start of `x`; `size` 0 if it is truncated or
/// not a MessagePack type.
header_info read_header(std::string_view x) noexcept {
  if (x.empty())
    return {};
  auto b = static_cast<uint8_t>(x[0]);
  auto sized = [&](size_t len_bytes, uint64_t per_item,
                   size_t extra = 0) -> header_info {
    if (x.size() < 1 + len_bytes + extra)
      return {};
    auto n = read_be(x.data() + 1, len_bytes);
    if (per_item == 0)
      return {1 + len_bytes + extra, n, 0};
    return {1 + len_bytes, 0, n * per_item};
  };
  if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3)
    return {1, 0, 0};
  if (b >= 0x80 && b <= 0x8f)
    return {1, 0, 2u * (b & 0x0f)};
  if (b >= 0x90 && b <= 0x9f)
    return {1, 0, static_cast<uint64_t>(b & 0x0f)};
  if (b >= 0xa0 && b <= 0xbf)
    return {1, static_cast<uint64_t>(b & 0x1f), 0};
  switch (b) {
    case 0xc4: case 0xd9: return sized(1, 0);
    case 0xc5: case 0xda: return sized(2, 0);
    case 0xc6: case 0xdb: return sized(4, 0);
    case 0xc7: return sized(1, 0, 1);
    case 0xc8: return sized(2, 0, 1);
    case 0xc9: return sized(4, 0, 1);
    case 0xca: return {1, 4, 0};
    case 0xcb: return {1, 8, 0};
    case 0xcc: case 0xd0: return {1, 1, 0};
    case 0xcd: case 0xd1: return {1, 2, 0};
    case 0xce: case 0xd2: return {1, 4, 0};
    case 0xcf: case 0xd3: return {1, 8, 0};
    case 0xd4: return {1, 2, 0};
    case 0xd5: return {1, 3, 0};
    case 0xd6: return {1, 5, 0};
    case 0xd7: return {1, 9, 0};
    case 0xd8: return {1, 17, 0};
    case 0xdc: return sized(2, 1);
    case 0xdd: return sized(4, 1);
    case 0xde: return sized(2, 2);
    case 0xdf: return sized(4, 2);
    default: return {}; // 0xc1 is never used
  }
}

} // namespace

size_t msgpack_element_size(std::string_view bytes) noexcept {
  size_t pos = 0;
  uint64_t left = 1;
  while (left > 0) {
    auto h = read_header(bytes.substr(pos));
    if (h.size == 0 || bytes.size() - pos - h.size < h.payload)
      return 0;
    pos += h.size + h.payload;
    --left;
    if (h.children > bytes.size() - pos)
      return 0; // more elements than bytes left: truncated
    left += h.children;
  }
  return pos;
}

std::optional<size_t> msgpack_array_header(std::string_view bytes,
                                           size_t& header) noexcept {
  if (bytes.empty())
    return std::nullopt;
  auto b = static_cast<uint8_t>(bytes[0]);
  if ((b >= 0x90 && b <= 0x9f) || b == 0xdc || b == 0xdd) {
    auto h = read_header(bytes);
    if (h.size == 0)
      return std::nullopt;
    header = h.size;
    return static_cast<size_t>(h.children);
  }
  return std::nullopt;
}

caf::expected<record_pattern> record_pattern::make(const record& pattern,
                                                   const record_layout& layout) {
  if (!pattern.is_array())
    return make_error(errc::invalid_record,
                      std::string{"a pattern must be a JSON array, got "}
                        + pattern.type_name());
  std::string all;
  append_msgpack(pattern, all);
  if (check_msgpack_array(all, max_record_depth))
    return make_error(errc::invalid_record,
                      "a pattern may nest at most "
                        + std::to_string(max_record_depth) + " levels deep");
  record_pattern result;
  result.elements_.reserve(pattern.size());
  for (auto& x : pattern) {
    if (x.is_null()) {
      result.elements_.emplace_back(std::nullopt);
      continue;
    }
    std::string bytes;
    append_msgpack(x, bytes);
    result.elements_.emplace_back(std::move(bytes));
    result.significant_ = result.elements_.size();
  }
  auto& xs = result.elements_;
  if (layout.key_pos < xs.size())
    result.key_ = xs[layout.key_pos];
  if (layout.partition_pos < xs.size())
    result.partition_element_ = xs[layout.partition_pos];
  return result;
}

bool record_pattern::matches(std::string_view bytes) const noexcept {
  if (significant_ == 0)
    return true;
  size_t header = 0;
  auto n = msgpack_array_header(bytes, header);
  if (!n || *n < significant_)
    return false; // the pattern fixes an element the record does not have
  auto pos = header;
  for (size_t i = 0; i < significant_; ++i) {
    auto rest = bytes.substr(pos);
    auto& want = elements_[i];
    if (want) {
      if (rest.size() < want->size()
          || std::memcmp(rest.data(), want->data(), want->size()) != 0)
        return false;
      // Equal bytes that are a prefix of a longer element cannot happen:
      // a MessagePack element's header fixes its size.
      pos += want->size();
    } else {
      auto size = msgpack_element_size(rest);
      if (size == 0)
        return false;
      pos += size;
    }
  }
  return true;
}

} // namespace supercache
