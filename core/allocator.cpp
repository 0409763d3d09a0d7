// Which malloc the program runs with (see SUPERCACHE_ALLOCATOR in CMake).

#include <supercache/supercache.hpp>

#include <cstdlib>

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

} // namespace supercache
