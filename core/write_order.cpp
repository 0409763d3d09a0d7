#include "core/write_order.hpp"

namespace supercache {

uint32_t ttl_ticks(caf::timespan ttl) noexcept {
  if (ttl.count() <= 0)
    return 0;
  if (ttl >= max_ttl)
    return INT32_MAX;
  auto ticks = std::chrono::ceil<stamp_unit>(ttl).count();
  return static_cast<uint32_t>(ticks);
}

} // namespace supercache
