#pragma once

/// An allocator for large arrays that a random access pattern reads (the
/// slot array of a `table`): arrays of 2 MiB or more are mapped on their own,
/// 2 MiB aligned, and advised onto transparent huge pages, so that a lookup in
/// a table of millions of records misses the TLB far less often. Smaller
/// arrays come from the heap. Where the kernel gives no huge pages the advice
/// is ignored and the array works as any other.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>

#include <sys/mman.h>

namespace supercache {

template <class T>
class huge_page_allocator {
public:
  using value_type = T;

  /// Arrays from this size on are mapped and advised.
  static constexpr size_t huge_size = size_t{2} << 20;

  huge_page_allocator() noexcept = default;

  template <class U>
  huge_page_allocator(const huge_page_allocator<U>&) noexcept {
    // nop
  }

  T* allocate(size_t n) {
    auto bytes = n * sizeof(T);
    if (n > SIZE_MAX / sizeof(T))
      throw std::bad_alloc{};
    if (bytes < huge_size) {
      auto p = std::malloc(bytes);
      if (p == nullptr)
        throw std::bad_alloc{};
      return static_cast<T*>(p);
    }
    // Map one huge page more than needed and cut the unaligned ends off.
    auto size = rounded(bytes);
    auto raw = mmap(nullptr, size + huge_size, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED)
      throw std::bad_alloc{};
    auto addr = reinterpret_cast<uintptr_t>(raw);
    auto aligned = (addr + huge_size - 1) & ~(huge_size - 1);
    if (aligned > addr)
      munmap(raw, aligned - addr);
    if (auto tail = addr + size + huge_size - (aligned + size); tail > 0)
      munmap(reinterpret_cast<void*>(aligned + size), tail);
    auto p = reinterpret_cast<void*>(aligned);
    madvise(p, size, MADV_HUGEPAGE);
    return static_cast<T*>(p);
  }

  void deallocate(T* p, size_t n) noexcept {
    auto bytes = n * sizeof(T);
    if (bytes < huge_size)
      std::free(p);
    else
      munmap(p, rounded(bytes));
  }

  friend bool operator==(const huge_page_allocator&,
                         const huge_page_allocator&) noexcept {
    return true;
  }

  friend bool operator!=(const huge_page_allocator&,
                         const huge_page_allocator&) noexcept {
    return false;
  }

private:
  static size_t rounded(size_t bytes) noexcept {
    return (bytes + huge_size - 1) & ~(huge_size - 1);
  }
};

} // namespace supercache
