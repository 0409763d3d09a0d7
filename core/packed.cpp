#include "core/packed.hpp"

#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include <caf/sec.hpp>

namespace supercache {

namespace {

/// Scratch buffer of the calling thread for encoding.
std::string& scratch() {
  thread_local std::string buf;
  buf.clear();
  return buf;
}

/// Decodes the MessagePack this library writes straight into a `record`,
/// with the JSON types `record::from_msgpack` gives (positive integers
/// unsigned, negative ones signed, float32 widened): several times faster
/// than going through nlohmann's SAX reader. Returns false on any byte it
/// does not expect (an extension type, a truncated block); the caller then
/// falls back to `record::from_msgpack`. Blocks are depth-checked when
/// received, so the recursion is bounded.
class fast_reader {
public:
  fast_reader(std::string_view bytes)
    : pos_(reinterpret_cast<const uint8_t*>(bytes.data())),
      end_(pos_ + bytes.size()) {
    // nop
  }

  bool read(record& out) {
    if (pos_ == end_)
      return false;
    auto b = *pos_++;
    if (b <= 0x7f) {
      out = static_cast<uint64_t>(b);
      return true;
    }
    if (b >= 0xe0) {
      out = static_cast<int64_t>(static_cast<int8_t>(b));
      return true;
    }
    if (b <= 0x8f)
      return read_map(b & 0x0f, out);
    if (b <= 0x9f)
      return read_array(b & 0x0f, out);
    if (b <= 0xbf)
      return read_string(b & 0x1f, out);
    switch (b) {
      case 0xc0:
        out = nullptr;
        return true;
      case 0xc2:
        out = false;
        return true;
      case 0xc3:
        out = true;
        return true;
      case 0xc4:
        return read_binary(be<uint8_t>(), out);
      case 0xc5:
        return read_binary(be<uint16_t>(), out);
      case 0xc6:
        return read_binary(be<uint32_t>(), out);
      case 0xca: {
        auto bits = be<uint32_t>();
        float f;
        std::memcpy(&f, &bits, sizeof(f));
        out = static_cast<double>(f);
        return ok_;
      }
      case 0xcb: {
        auto bits = be<uint64_t>();
        double f;
        std::memcpy(&f, &bits, sizeof(f));
        out = f;
        return ok_;
      }
      case 0xcc:
        out = static_cast<uint64_t>(be<uint8_t>());
        return ok_;
      case 0xcd:
        out = static_cast<uint64_t>(be<uint16_t>());
        return ok_;
      case 0xce:
        out = static_cast<uint64_t>(be<uint32_t>());
        return ok_;
      case 0xcf:
        out = be<uint64_t>();
        return ok_;
      case 0xd0:
        out = static_cast<int64_t>(static_cast<int8_t>(be<uint8_t>()));
        return ok_;
      case 0xd1:
        out = static_cast<int64_t>(static_cast<int16_t>(be<uint16_t>()));
        return ok_;
      case 0xd2:
        out = static_cast<int64_t>(static_cast<int32_t>(be<uint32_t>()));
        return ok_;
      case 0xd3:
        out = static_cast<int64_t>(be<uint64_t>());
        return ok_;
      case 0xd9:
        return read_string(be<uint8_t>(), out);
      case 0xda:
        return read_string(be<uint16_t>(), out);
      case 0xdb:
        return read_string(be<uint32_t>(), out);
      case 0xdc:
        return read_array(be<uint16_t>(), out);
      case 0xdd:
        return read_array(be<uint32_t>(), out);
      case 0xde:
        return read_map(be<uint16_t>(), out);
      case 0xdf:
        return read_map(be<uint32_t>(), out);
      default: // extension types: never written by this library
        return false;
    }
  }

  bool at_end() const noexcept {
    return pos_ == end_;
  }

private:
  template <class T>
  T be() noexcept {
    if (static_cast<size_t>(end_ - pos_) < sizeof(T)) {
      ok_ = false;
      pos_ = end_;
      return 0;
    }
    T x = 0;
    for (size_t i = 0; i < sizeof(T); ++i)
      x = static_cast<T>((static_cast<uint64_t>(x) << 8) | *pos_++);
    return x;
  }

  bool take(size_t n, const uint8_t*& from) noexcept {
    if (!ok_ || static_cast<size_t>(end_ - pos_) < n)
      return false;
    from = pos_;
    pos_ += n;
    return true;
  }

  /// Reuses the storage of `out` if it holds a string already.
  bool read_string(size_t n, record& out) {
    const uint8_t* from = nullptr;
    if (!take(n, from))
      return false;
    if (out.is_string())
      out.get_ref<std::string&>().assign(reinterpret_cast<const char*>(from),
                                         n);
    else
      out = std::string{reinterpret_cast<const char*>(from), n};
    return true;
  }

  bool read_binary(size_t n, record& out) {
    const uint8_t* from = nullptr;
    if (!take(n, from))
      return false;
    out = record::binary(std::vector<uint8_t>(from, from + n));
    return true;
  }

  /// Reuses the storage of `out` (and of its elements) if it holds an
  /// array already.
  bool read_array(size_t n, record& out) {
    if (!ok_ || static_cast<size_t>(end_ - pos_) < n)
      return false; // each element takes a byte at least
    if (!out.is_array())
      out = record::array();
    auto& xs = out.get_ref<record::array_t&>();
    xs.resize(n);
    for (auto& x : xs)
      if (!read(x))
        return false;
    return true;
  }

  bool read_map(size_t n, record& out) {
    if (!ok_ || static_cast<size_t>(end_ - pos_) < n)
      return false;
    out = record::object();
    auto& xs = out.get_ref<record::object_t&>();
    for (size_t i = 0; i < n; ++i) {
      record key;
      if (!read(key) || !key.is_string())
        return false;
      if (!read(xs[key.get_ref<const std::string&>()]))
        return false;
    }
    return true;
  }

  const uint8_t* pos_;
  const uint8_t* end_;
  bool ok_ = true;
};

} // namespace

packed::packed(const packed& other) {
  if (auto p = other.heap(); other.on_heap())
    *this = make({p, header_size + heap_header(p).size});
  else
    std::memcpy(buf_, other.buf_, sizeof(buf_));
}

packed& packed::operator=(const packed& other) {
  if (this != &other) {
    packed tmp{other};
    *this = std::move(tmp);
  }
  return *this;
}

void packed::write_header(char* out) const noexcept {
  header_type h{};
  if (on_heap()) {
    h = heap_header(heap());
  } else {
    h.size = tag();
    h.key_offset = static_cast<uint8_t>(buf_[key_offset_pos]);
    h.key_size = static_cast<uint8_t>(buf_[key_size_pos]);
  }
  std::memcpy(out, &h, header_size);
}

std::string packed::block() const {
  std::string result;
  if (empty())
    return result;
  auto b = bytes();
  result.resize(header_size + b.size());
  write_header(result.data());
  std::memcpy(result.data() + header_size, b.data(), b.size());
  return result;
}

packed packed::make_inline(std::string_view block) noexcept {
  header_type h;
  std::memcpy(&h, block.data(), header_size);
  packed result;
  std::memcpy(result.buf_, block.data() + header_size, h.size);
  result.buf_[key_offset_pos] = static_cast<char>(h.key_offset);
  result.buf_[key_size_pos] = static_cast<char>(h.key_size);
  result.buf_[tag_pos] = static_cast<char>(h.size);
  return result;
}

packed packed::make(std::string_view block) {
  if (block.size() <= header_size + inline_capacity)
    return make_inline(block);
  auto p = static_cast<char*>(std::malloc(block.size()));
  if (p == nullptr)
    throw std::bad_alloc{};
  std::memcpy(p, block.data(), block.size());
  return adopt(p);
}

std::pair<packed, uint64_t> packed::pack(const record& x,
                                         const record_layout& layout) {
  auto& buf = scratch();
  buf.resize(header_size);
  // The array header, then each element; remember where the key and the
  // partition element start and end.
  auto n = x.size();
  if (n < 16)
    buf.push_back(static_cast<char>(0x90 | n));
  else if (n <= 0xffff)
    buf.append({static_cast<char>(0xdc), static_cast<char>(n >> 8),
                static_cast<char>(n & 0xff)});
  else
    buf.append({static_cast<char>(0xdd), static_cast<char>(n >> 24),
                static_cast<char>((n >> 16) & 0xff),
                static_cast<char>((n >> 8) & 0xff),
                static_cast<char>(n & 0xff)});
  header_type h{};
  size_t part_begin = 0;
  size_t part_end = 0;
  for (size_t i = 0; i < n; ++i) {
    auto begin = buf.size();
    append_msgpack(x[i], buf);
    if (i == layout.key_pos) {
      h.key_offset = static_cast<uint32_t>(begin - header_size);
      h.key_size = static_cast<uint32_t>(buf.size() - begin);
    }
    if (i == layout.partition_pos) {
      part_begin = begin;
      part_end = buf.size();
    }
  }
  h.size = static_cast<uint32_t>(buf.size() - header_size);
  std::memcpy(buf.data(), &h, header_size);
  auto hash = partition_hash(
    std::string_view{buf.data() + part_begin, part_end - part_begin});
  return {make(buf), hash};
}

caf::error packed::check_block(std::string_view block) {
  auto invalid = [](const char* what) {
    return caf::make_error(caf::sec::invalid_argument, what);
  };
  if (block.size() < header_size)
    return invalid("packed record shorter than its header");
  header_type h;
  std::memcpy(&h, block.data(), header_size);
  if (h.size != block.size() - header_size)
    return invalid("packed record size does not match its header");
  if (h.key_size == 0 || uint64_t{h.key_offset} + h.key_size > h.size)
    return invalid("packed record key out of bounds");
  // Validated without decoding: a receiver checks every record it gets.
  return check_msgpack_array(block.substr(header_size));
}

caf::expected<packed> packed::from_block(std::string_view block) {
  if (auto err = check_block(block))
    return err;
  return make(block);
}

caf::expected<packed> packed::reserve(size_t size) {
  if (size < header_size || size - header_size > UINT32_MAX)
    return caf::make_error(caf::sec::invalid_argument,
                           "packed record size out of range");
  auto p = static_cast<char*>(std::malloc(size));
  if (p == nullptr)
    return caf::make_error(caf::sec::invalid_argument,
                           "packed record too large to allocate");
  return adopt(p);
}

record packed::unpack() const {
  record result;
  unpack_into(result);
  return result;
}

void packed::unpack_into(record& out) const {
  if (empty()) {
    out = nullptr;
    return;
  }
  auto b = bytes();
  fast_reader reader{b};
  if (!reader.read(out) || !reader.at_end())
    out = record::from_msgpack(b.begin(), b.end(), true, false);
}

} // namespace supercache
