#include "actors/record.hpp"

#include <functional>
#include <string_view>

#include "actors/errc.hpp"

namespace supercache {

namespace {

const char* type_name(const record& x) {
  return x.type_name();
}

/// Mixes the bits of an integer hash (splitmix64 finalizer), so consecutive
/// keys spread over partitions instead of striding.
uint64_t mix(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

} // namespace

caf::error validate(const record& x, const record_layout& layout) {
  if (!x.is_array())
    return make_error(errc::invalid_record,
                      std::string{"a record must be a JSON array, got "}
                        + type_name(x));
  auto needed = std::max(layout.key_pos, layout.partition_pos) + 1;
  if (x.size() < needed)
    return make_error(errc::invalid_record,
                      "a record needs at least " + std::to_string(needed)
                        + " elements (key-pos "
                        + std::to_string(layout.key_pos) + ", partition-pos "
                        + std::to_string(layout.partition_pos) + "), got "
                        + std::to_string(x.size()));
  return caf::none;
}

std::string key_of(const record& x, const record_layout& layout) {
  return x[layout.key_pos].dump();
}

uint32_t partition_of(const record& x, const record_layout& layout,
                      size_t partitions) {
  if (partitions <= 1)
    return 0;
  auto& element = x[layout.partition_pos];
  uint64_t h;
  if (element.is_number_integer())
    h = mix(static_cast<uint64_t>(element.get<int64_t>()));
  else if (element.is_string())
    h = mix(std::hash<std::string_view>{}(
      element.get_ref<const std::string&>()));
  else
    h = mix(std::hash<std::string>{}(element.dump()));
  return static_cast<uint32_t>(h % partitions);
}

} // namespace supercache
