#pragma once

/// An allocator for large arrays that a random access pattern reads (the
/// slot array of a `table`): arrays of 2 MiB or more are mapped on their own,
/// 2 MiB aligned, and `advise` puts them on transparent huge pages, so that a
/// lookup in a table of millions of records misses the TLB far less often.
/// Arrays from 64 KiB are mapped too, on 4 KiB pages: a `calloc` of such a
/// size may reuse freed heap memory and then zero all of it at once, which
/// faults in every page in one call (600 us and more for 1 MiB here).
/// Smaller arrays come from the heap. Where the kernel gives no huge pages
/// the advice is ignored and the array works as any other.
///
/// Memory comes zeroed and value-initialization writes nothing: this
/// allocator serves only types whose value-initialized form is all zero
/// bytes (a `table` slot: hash 0, stamp 0, an empty record; checked in the
/// table's constructor). So a new array costs no pass over its memory, and
/// its pages are faulted in (zeroed by the kernel) by whoever writes them
/// first: a table faults in the array of its next growth a few pages per
/// insert, ahead of time (`table::prepare_growth`).

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <utility>

#include <sys/mman.h>

namespace supercache {

template <class T>
class huge_page_allocator {
public:
  using value_type = T;

  /// Arrays from this size on are mapped 2 MiB aligned and advised.
  static constexpr size_t huge_size = size_t{2} << 20;

  /// Arrays from this size on are mapped.
  static constexpr size_t mapped_size = size_t{64} << 10;

  huge_page_allocator() noexcept = default;

  template <class U>
  huge_page_allocator(const huge_page_allocator<U>&) noexcept {
    // nop
  }

  T* allocate(size_t n) {
    auto bytes = n * sizeof(T);
    if (n > SIZE_MAX / sizeof(T))
      throw std::bad_alloc{};
    if (bytes < mapped_size) {
      auto p = std::calloc(n, sizeof(T));
      if (p == nullptr)
        throw std::bad_alloc{};
      return static_cast<T*>(p);
    }
    if (bytes < huge_size) {
      auto p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (p == MAP_FAILED)
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
    return reinterpret_cast<T*>(aligned);
  }

  /// Value-initializes nothing: the memory is zeroed already (see above).
  template <class U>
  void construct(U*) noexcept {
    // nop
  }

  template <class U, class... Ts>
  void construct(U* p, Ts&&... xs) {
    ::new (static_cast<void*>(p)) U(std::forward<Ts>(xs)...);
  }

  /// Advises the `n` elements at `p`, from `allocate(n)`, onto huge pages
  /// if they span at least one.
  static void advise(T* p, size_t n) noexcept {
    if (n * sizeof(T) >= huge_size)
      madvise(p, rounded(n * sizeof(T)), MADV_HUGEPAGE);
  }

  void deallocate(T* p, size_t n) noexcept {
    auto bytes = n * sizeof(T);
    if (bytes < mapped_size)
      std::free(p);
    else if (bytes < huge_size)
      munmap(p, bytes);
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
