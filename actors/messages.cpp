// The wire form of a stream batch (see `inspect` of `std::vector<entry>` in
// messages.hpp).

#include "actors/messages.hpp"

#include <cstring>

namespace supercache {

namespace {

template <class T>
void put_le(char*& out, T x) noexcept {
  auto y = static_cast<uint64_t>(x);
  for (size_t i = 0; i < sizeof(T); ++i)
    *out++ = static_cast<char>((y >> (8 * i)) & 0xff);
}

template <class T>
T get_le(const char*& in) noexcept {
  uint64_t y = 0;
  for (size_t i = 0; i < sizeof(T); ++i)
    y |= static_cast<uint64_t>(static_cast<uint8_t>(*in++)) << (8 * i);
  return static_cast<T>(y);
}

} // namespace

void write_batch(const std::vector<entry>& xs, std::string& out) {
  size_t total = 0;
  for (auto& x : xs)
    total += entry_wire_size + x.value.block_size();
  auto first = out.size();
  out.resize(first + total);
  auto pos = out.data() + first;
  for (auto& x : xs) {
    auto size = x.value.block_size();
    put_le<uint32_t>(pos, x.partition);
    put_le<uint64_t>(pos, x.barrier);
    put_le<int64_t>(pos, x.enqueued_ns);
    put_le<uint8_t>(pos, x.erase ? 1 : 0);
    put_le<uint64_t>(pos, size);
    if (size > 0) {
      x.value.write_header(pos);
      pos += packed::header_size;
      auto bytes = x.value.bytes();
      std::memcpy(pos, bytes.data(), bytes.size());
      pos += bytes.size();
    }
  }
}

caf::error read_batch(std::string_view bytes, size_t n,
                      std::vector<entry>& xs) {
  auto short_batch = [] {
    return caf::make_error(caf::sec::end_of_stream,
                           "stream batch shorter than its entries");
  };
  if (n > bytes.size() / entry_wire_size)
    return short_batch();
  xs.clear();
  xs.reserve(n);
  auto pos = bytes.data();
  auto end = pos + bytes.size();
  for (size_t i = 0; i < n; ++i) {
    if (static_cast<size_t>(end - pos) < entry_wire_size)
      return short_batch();
    auto& x = xs.emplace_back();
    x.partition = get_le<uint32_t>(pos);
    x.barrier = get_le<uint64_t>(pos);
    x.enqueued_ns = get_le<int64_t>(pos);
    x.erase = get_le<uint8_t>(pos) != 0;
    auto size = get_le<uint64_t>(pos);
    if (size > static_cast<uint64_t>(end - pos))
      return caf::make_error(caf::sec::end_of_stream,
                             "packed record longer than its stream batch");
    if (size > 0 && packed::valid_block_size(size)) {
      // A block that fails its checks leaves the entry refused (empty).
      if (auto value = packed::from_block({pos, size}))
        x.value = std::move(*value);
    }
    pos += size;
  }
  if (pos != end)
    return caf::make_error(caf::sec::end_of_stream,
                           "stream batch longer than its entries");
  return caf::none;
}

} // namespace supercache
