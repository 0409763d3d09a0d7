// Which malloc the program runs with (see SUPERCACHE_ALLOCATOR in CMake).

#include <supercache/supercache.hpp>

#include <cstdlib>
#include <string_view>

#ifdef SUPERCACHE_WITH_MIMALLOC
#  include <mimalloc.h>
#endif

namespace supercache {

bool mimalloc_linked() noexcept {
#ifdef SUPERCACHE_WITH_MIMALLOC
  return true;
#else
  return false;
#endif
}

const char* allocator() noexcept {
#ifdef SUPERCACHE_WITH_MIMALLOC
  auto ptr = std::calloc(1, 64);
  auto ours = mi_is_in_heap_region(ptr);
  std::free(ptr);
  if (ours)
    return "mimalloc";
#endif
  return "system";
}

bool return_freed_pages() noexcept {
#ifdef SUPERCACHE_WITH_MIMALLOC
  if (std::getenv("MIMALLOC_DECOMMIT_DELAY") != nullptr
      || std::getenv("MIMALLOC_RESET_DELAY") != nullptr
      || std::string_view{allocator()} != "mimalloc")
    return false;
  mi_option_set(mi_option_decommit_delay, 0);
  return true;
#else
  return false;
#endif
}

} // namespace supercache
