#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>
#include <utility>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include <supercache/record.hpp>

namespace supercache {

/// A record in its stored form: one heap block with a 12-byte header and the
/// record's MessagePack bytes; the key is a slice of those bytes.
///
/// Packing happens on the producer's thread (in `lazy_put`), so a record
/// travels to the cache as one small block and is stored without a copy. For
/// `[i, "value-i"]` the block is about 32 bytes.
class packed {
public:
  // -- constructors -----------------------------------------------------------

  packed() noexcept = default;

  packed(packed&& other) noexcept : data_(std::exchange(other.data_, nullptr)) {
    // nop
  }

  packed& operator=(packed&& other) noexcept {
    std::swap(data_, other.data_);
    return *this;
  }

  packed(const packed& other);

  packed& operator=(const packed& other);

  ~packed();

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
  /// in place, e.g. a deserializer (no intermediate copy). Returns the error
  /// of `fill`, if any; a block that fails the checks of `from_block` gives
  /// an empty packed, so that its receiver refuses this record alone.
  template <class F>
  static caf::expected<packed> receive(size_t size, F&& fill) {
    auto result = reserve(size);
    if (!result)
      return result;
    if (auto err = fill(result->data_))
      return err;
    if (check_block({result->data_, size}))
      return packed{};
    return result;
  }

  // -- properties -------------------------------------------------------------

  /// Returns whether this holds no record.
  bool empty() const noexcept {
    return data_ == nullptr;
  }

  /// Returns the MessagePack bytes of the record.
  std::string_view bytes() const noexcept {
    if (data_ == nullptr)
      return {};
    return {data_ + header_size, header().size};
  }

  /// Returns the MessagePack bytes of the record's key element.
  std::string_view key() const noexcept {
    if (data_ == nullptr)
      return {};
    auto h = header();
    return {data_ + header_size + h.key_offset, h.key_size};
  }

  /// Returns the whole block (header and bytes), e.g. to send it.
  std::string_view block() const noexcept {
    if (data_ == nullptr)
      return {};
    return {data_, header_size + header().size};
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

private:
  struct header_type {
    uint32_t size;
    uint32_t key_offset;
    uint32_t key_size;
  };

  static constexpr size_t header_size = sizeof(header_type);

  header_type header() const noexcept {
    header_type h;
    std::memcpy(&h, data_, header_size);
    return h;
  }

  static packed allocate(std::string_view block);

  /// Allocates an uninitialized block of `size` bytes.
  static caf::expected<packed> reserve(size_t size);

  /// Checks header bounds and MessagePack bytes of a received block.
  static caf::error check_block(std::string_view block);

  char* data_ = nullptr;
};

} // namespace supercache
