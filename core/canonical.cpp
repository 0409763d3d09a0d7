#include "core/canonical.hpp"

#include <cstdint>
#include <cstring>
#include <limits>

namespace supercache {

namespace {

/// Reads MessagePack value headers and skips string bytes, refusing any
/// form that `append_msgpack` would not write.
class scanner {
public:
  explicit scanner(std::string_view bytes)
    : pos_(reinterpret_cast<const uint8_t*>(bytes.data())),
      end_(pos_ + bytes.size()) {
    // nop
  }

  const uint8_t* pos() const noexcept {
    return pos_;
  }

  bool at_end() const noexcept {
    return pos_ == end_;
  }

  /// Reads the header of one value; sets `children` to the element count of
  /// an array (and `is_array`); skips a string's bytes. Returns false for a
  /// truncated or non-canonical value and for maps, binaries and extensions.
  bool value(uint64_t& children, bool& is_array) noexcept {
    is_array = false;
    if (pos_ == end_)
      return false;
    auto b = *pos_++;
    if (b <= 0x7f || b >= 0xe0) // positive and negative fixint
      return true;
    if (b <= 0x8f) // fixmap
      return false;
    if (b <= 0x9f)
      return array(b & 0x0fu, children, is_array);
    if (b <= 0xbf) // fixstr
      return skip(b & 0x1fu);
    switch (b) {
      case 0xc0: // nil
      case 0xc2: // false
      case 0xc3: // true
        return true;
      case 0xca: { // float32: written only for a finite value
        uint32_t bits = 0;
        return be(bits) && ((bits >> 23) & 0xffu) != 0xffu;
      }
      case 0xcb: { // float64: written only where float32 would lose it
        uint64_t bits = 0;
        if (!be(bits))
          return false;
        double f;
        std::memcpy(&f, &bits, sizeof(f));
        return !(f >= static_cast<double>(std::numeric_limits<float>::lowest())
                 && f <= static_cast<double>(std::numeric_limits<float>::max())
                 && static_cast<double>(static_cast<float>(f)) == f);
      }
      case 0xcc:
        return at_least<uint8_t>(0x80);
      case 0xcd:
        return at_least<uint16_t>(0x100);
      case 0xce:
        return at_least<uint32_t>(0x10000);
      case 0xcf:
        return at_least<uint64_t>(0x100000000ULL);
      case 0xd0:
        return below<uint8_t, int8_t>(-32);
      case 0xd1:
        return below<uint16_t, int16_t>(INT8_MIN);
      case 0xd2:
        return below<uint32_t, int32_t>(INT16_MIN);
      case 0xd3:
        return below<uint64_t, int64_t>(INT32_MIN);
      case 0xd9:
        return string<uint8_t>(32);
      case 0xda:
        return string<uint16_t>(0x100);
      case 0xdb:
        return string<uint32_t>(0x10000);
      case 0xdc: {
        uint16_t n = 0;
        return be(n) && n >= 16 && array(n, children, is_array);
      }
      case 0xdd: {
        uint32_t n = 0;
        return be(n) && n >= 0x10000 && array(n, children, is_array);
      }
      default: // maps, binaries, extension types, 0xc1
        return false;
    }
  }

private:
  template <class T>
  bool be(T& x) noexcept {
    if (static_cast<size_t>(end_ - pos_) < sizeof(T))
      return false;
    uint64_t y = 0;
    for (size_t i = 0; i < sizeof(T); ++i)
      y = (y << 8) | *pos_++;
    x = static_cast<T>(y);
    return true;
  }

  bool skip(uint64_t n) noexcept {
    if (static_cast<uint64_t>(end_ - pos_) < n)
      return false;
    pos_ += n;
    return true;
  }

  bool array(uint64_t n, uint64_t& children, bool& is_array) noexcept {
    children = n;
    is_array = true;
    return true;
  }

  /// An unsigned integer of type `T`, canonical from `min` on.
  template <class T>
  bool at_least(uint64_t min) noexcept {
    T x = 0;
    return be(x) && x >= min;
  }

  /// A signed integer (`S`, read as `U`), canonical below `limit`.
  template <class U, class S>
  bool below(int64_t limit) noexcept {
    U x = 0;
    return be(x) && static_cast<int64_t>(static_cast<S>(x)) < limit;
  }

  /// A string with a `T` length, canonical from `min` bytes on.
  template <class T>
  bool string(uint64_t min) noexcept {
    T n = 0;
    return be(n) && n >= min && skip(n);
  }

  const uint8_t* pos_;
  const uint8_t* end_;
};

} // namespace

std::optional<canonical_record>
scan_canonical(std::string_view bytes, const record_layout& layout,
               size_t max_depth) noexcept {
  // Elements still to read of each open array, outermost first.
  uint64_t open[max_record_depth];
  if (max_depth > max_record_depth)
    max_depth = max_record_depth;
  scanner in{bytes};
  uint64_t n = 0;
  bool is_array = false;
  if (max_depth < 1 || !in.value(n, is_array) || !is_array)
    return std::nullopt;
  canonical_record result;
  result.elements = n;
  open[0] = n;
  size_t depth = 1;
  // The top-level element being read and where it began.
  size_t index = 0;
  const uint8_t* begin = nullptr;
  auto close_element = [&] {
    std::string_view span{reinterpret_cast<const char*>(begin),
                          static_cast<size_t>(in.pos() - begin)};
    if (index - 1 == layout.key_pos)
      result.key = span;
    if (index - 1 == layout.partition_pos)
      result.partition = span;
  };
  while (depth > 0) {
    if (open[depth - 1] == 0) {
      --depth;
      continue;
    }
    --open[depth - 1];
    if (depth == 1) {
      if (begin != nullptr)
        close_element();
      begin = in.pos();
      ++index;
    }
    if (!in.value(n, is_array))
      return std::nullopt;
    if (is_array) {
      if (depth >= max_depth)
        return std::nullopt;
      open[depth++] = n;
    }
  }
  if (!in.at_end())
    return std::nullopt;
  if (begin != nullptr)
    close_element();
  return result;
}

} // namespace supercache
