#include "core/packed.hpp"

#include <cstdlib>
#include <new>

#include <caf/sec.hpp>

namespace supercache {

namespace {

/// Scratch buffer of the calling thread for encoding.
std::string& scratch() {
  thread_local std::string buf;
  buf.clear();
  return buf;
}

} // namespace

packed::packed(const packed& other) {
  if (!other.empty())
    *this = allocate(other.block());
}

packed& packed::operator=(const packed& other) {
  if (this != &other) {
    packed tmp{other};
    std::swap(data_, tmp.data_);
  }
  return *this;
}

packed::~packed() {
  std::free(data_);
}

packed packed::allocate(std::string_view block) {
  packed result;
  result.data_ = static_cast<char*>(std::malloc(block.size()));
  if (result.data_ == nullptr)
    throw std::bad_alloc{};
  std::memcpy(result.data_, block.data(), block.size());
  return result;
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
  return {allocate(buf), hash};
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
  return allocate(block);
}

caf::expected<packed> packed::reserve(size_t size) {
  if (size < header_size || size - header_size > UINT32_MAX)
    return caf::make_error(caf::sec::invalid_argument,
                           "packed record size out of range");
  packed result;
  result.data_ = static_cast<char*>(std::malloc(size));
  if (result.data_ == nullptr)
    return caf::make_error(caf::sec::invalid_argument,
                           "packed record too large to allocate");
  return result;
}

record packed::unpack() const {
  if (empty())
    return nullptr;
  auto b = bytes();
  return record::from_msgpack(b.begin(), b.end(), true, false);
}

} // namespace supercache
