#pragma once

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include <supercache/record.hpp>

namespace supercache {

/// A record in its stored form: its MessagePack bytes and where its key
/// element lies in them. A record of at most `inline_capacity` bytes is held
/// inline, in the 24 bytes of the object itself (no heap block: a table slot
/// holds it whole, so a lookup reads one cache line); a larger one in one
/// heap block with a 12-byte header.
///
/// Packing happens on the producer's thread (in `lazy_put`), so a record
/// travels to the cache as one small object and is stored without a copy.
/// `[i, "value-i"]` (20 bytes for i below 10^7) is inline.
///
/// The wire form (`block`) is the same either way: the 12-byte header (size,
/// key offset, key size; host byte order) and the bytes.
class packed {
public:
  /// Records of at most this many MessagePack bytes are held inline.
  static constexpr size_t inline_capacity = 21;

  // -- constructors -----------------------------------------------------------

  packed() noexcept = default;

  packed(packed&& other) noexcept {
    std::memcpy(buf_, other.buf_, sizeof(buf_));
    other.buf_[tag_pos] = 0;
  }

  packed& operator=(packed&& other) noexcept {
    if (this == &other)
      return *this;
    char tmp[sizeof(buf_)];
    std::memcpy(tmp, buf_, sizeof(buf_));
    std::memcpy(buf_, other.buf_, sizeof(buf_));
    std::memcpy(other.buf_, tmp, sizeof(buf_));
    return *this;
  }

  packed(const packed& other);

  packed& operator=(const packed& other);

  ~packed() {
    if (on_heap())
      std::free(heap());
  }

  /// Packs a valid record `x` (see `validate`) and returns it together with
  /// the `partition_hash` of its partition element.
  static std::pair<packed, uint64_t> pack(const record& x,
                                          const record_layout& layout);

  /// Rebuilds a packed record from its `block()` form, as received over the
  /// network: checks the header's bounds, the MessagePack bytes and their
  /// nesting depth. Errors: `caf::sec::invalid_argument`.
  static caf::expected<packed> from_block(std::string_view block);

  /// Returns whether a block of `size` bytes can hold a record (at least a
  /// header, at most 4 GiB of bytes).
  static bool valid_block_size(size_t size) noexcept {
    return size >= header_size && size - header_size <= UINT32_MAX;
  }

  /// Receives a block of `valid_block_size` bytes that `fill(char*)` writes
  /// in place, e.g. a deserializer (no intermediate heap copy). Returns the
  /// error of `fill`, if any; a block that fails the checks of `from_block`
  /// gives an empty packed, so that its receiver refuses this record alone.
  template <class F>
  static caf::expected<packed> receive(size_t size, F&& fill) {
    if (size <= header_size + inline_capacity) {
      char tmp[header_size + inline_capacity];
      if (auto err = fill(tmp))
        return err;
      if (check_block({tmp, size}))
        return packed{};
      return make_inline({tmp, size});
    }
    auto result = reserve(size);
    if (!result)
      return result;
    if (auto err = fill(result->heap()))
      return err;
    if (check_block({result->heap(), size}))
      return packed{};
    return result;
  }

  // -- properties -------------------------------------------------------------

  /// Returns whether this holds no record.
  bool empty() const noexcept {
    return tag() == 0;
  }

  /// Returns the MessagePack bytes of the record.
  std::string_view bytes() const noexcept {
    auto t = tag();
    if (t != heap_tag)
      return {buf_, t};
    auto p = heap();
    return {p + header_size, heap_header(p).size};
  }

  /// Returns the MessagePack bytes of the record's key element.
  std::string_view key() const noexcept {
    auto t = tag();
    if (t != heap_tag)
      return {buf_ + static_cast<uint8_t>(buf_[key_offset_pos]),
              static_cast<uint8_t>(buf_[key_size_pos])};
    auto p = heap();
    auto h = heap_header(p);
    return {p + header_size + h.key_offset, h.key_size};
  }

  /// Returns the size of the wire form (header and bytes; 0 when empty).
  size_t block_size() const noexcept {
    return empty() ? 0 : header_size + bytes().size();
  }

  /// Writes the `header_size` bytes of the wire form's header to `out`.
  void write_header(char* out) const noexcept;

  /// Returns the wire form: the header and the bytes (empty when empty).
  std::string block() const;

  /// Returns the bytes this record holds on the heap (0 if inline).
  size_t heap_bytes() const noexcept {
    return on_heap() ? header_size + heap_header(heap()).size : 0;
  }

  /// Decodes the record.
  record unpack() const;

  /// Decodes the record into `out`, reusing the storage `out` holds where the
  /// shapes agree (an array's elements, strings): decoding into the record
  /// of an earlier lookup of the same shape allocates nothing.
  void unpack_into(record& out) const;

  friend bool operator==(const packed& x, const packed& y) noexcept {
    return x.bytes() == y.bytes();
  }

  /// The size of the wire form's header.
  static constexpr size_t header_size = 12;

private:
  struct header_type {
    uint32_t size;
    uint32_t key_offset;
    uint32_t key_size;
  };

  static_assert(sizeof(header_type) == header_size);

  // Layout of `buf_`. Inline: the bytes from 0, the key's offset and size at
  // `key_offset_pos` and `key_size_pos`, the size (1..21) at `tag_pos`.
  // On the heap: the block's address from 0, `heap_tag` at `tag_pos`.
  // Empty: 0 at `tag_pos`.
  static constexpr size_t key_offset_pos = 21;
  static constexpr size_t key_size_pos = 22;
  static constexpr size_t tag_pos = 23;
  static constexpr uint8_t heap_tag = 0xff;

  uint8_t tag() const noexcept {
    return static_cast<uint8_t>(buf_[tag_pos]);
  }

  bool on_heap() const noexcept {
    return tag() == heap_tag;
  }

  char* heap() const noexcept {
    char* p;
    std::memcpy(&p, buf_, sizeof(p));
    return p;
  }

  static header_type heap_header(const char* p) noexcept {
    header_type h;
    std::memcpy(&h, p, header_size);
    return h;
  }

  /// Holds a checked block of at most `header_size + inline_capacity` bytes
  /// inline.
  static packed make_inline(std::string_view block) noexcept;

  /// Holds a checked block: inline if it fits, else in a copy on the heap.
  static packed make(std::string_view block);

  /// Takes ownership of the heap block at `p`.
  static packed adopt(char* p) noexcept {
    packed result;
    std::memcpy(result.buf_, &p, sizeof(p));
    result.buf_[tag_pos] = static_cast<char>(heap_tag);
    return result;
  }

  /// Allocates an uninitialized heap block of `size` bytes.
  static caf::expected<packed> reserve(size_t size);

  /// Checks header bounds and MessagePack bytes of a received block.
  static caf::error check_block(std::string_view block);

  alignas(8) char buf_[24] = {};
};

static_assert(sizeof(packed) == 24);

} // namespace supercache
