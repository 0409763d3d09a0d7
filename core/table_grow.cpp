// The growth of a table's shards (see table.hpp): a shard doubles its slot
// array when it is 3/4 full, moving its records under the partition's write
// lock, and over the last eighth of the way there faults in the array it
// will move into, a few pages per insert, so that the doubling stalls its
// writer for the moves only.

#include "core/table.hpp"

#include <algorithm>
#include <cstdint>
#include <new>

namespace supercache {

void table::prepare_growth(shard& sh) noexcept {
  auto used = sh.used;
  auto bound = sh.slots.size() / 4 * 3; // grows at one more record
  auto start = bound - bound / 8;
  // A table bounded below `bound` a shard (`max-records`) is not expected
  // to grow this shard again: a shard that does grows unprepared.
  if (used < start
      || (max_records_ != 0 && max_records_ < bound * shard_count))
    return;
  if (sh.next.empty()) {
    // The record is stored already: without memory now, `grow` allocates.
    try {
      sh.next = slot_array(sh.slots.size() * 2); // mapped, not written
    } catch (const std::bad_alloc&) {
      return;
    }
    huge_page_allocator<slot>::advise(sh.next.data(), sh.next.size());
    sh.next_touched = 0;
  }
  constexpr auto page = growth_page;
  auto pages = (sh.next.size() * sizeof(slot) + page - 1) / page;
  auto due = std::min(pages, (used - start + 1) * pages / (bound - start) + 1);
  if (due <= sh.next_touched)
    return;
  auto base = reinterpret_cast<volatile char*>(sh.next.data());
  for (auto i = sh.next_touched; i < due; ++i)
    base[i * page] = 0; // the slots there are zero already
  update_bytes(static_cast<int64_t>((due - sh.next_touched) * page));
  sh.next_touched = due;
}

void table::grow(shard& sh) {
  // `next` is empty or prepared for this growth (`clear` takes it out).
  auto old = sh.next.empty() ? slot_array(sh.slots.size() * 2)
                             : std::move(sh.next);
  sh.next = slot_array{};
  old.swap(sh.slots);
  auto& slots = sh.slots;
  huge_page_allocator<slot>::advise(slots.data(), slots.size());
  publish_home(sh);
  // The new array less the old one and the prepared pages counted already.
  update_bytes(static_cast<int64_t>(old.size() * sizeof(slot))
               - static_cast<int64_t>(sh.next_touched * growth_page));
  sh.next_touched = 0;
  auto mask = slots.size() - 1;
  // Start behind an empty slot so each probe run is moved in probe order:
  // records of one key keep the order they were stored in.
  size_t start = 0;
  while (!old[start].value.empty())
    ++start;
  // Old sizes are powers of two: a mask wraps; the home slot of the record
  // `ahead` places further is loaded while this one moves.
  auto old_mask = old.size() - 1;
  constexpr size_t ahead = 16;
  for (size_t n = 0; n < old.size(); ++n) {
    auto& later = old[(start + n + ahead) & old_mask];
    __builtin_prefetch(&slots[later.hash & mask], 1);
    auto& s = old[(start + n) & old_mask];
    if (s.value.empty())
      continue;
    auto i = s.hash & mask;
    while (!slots[i].value.empty())
      i = (i + 1) & mask;
    slots[i] = std::move(s);
  }
}

} // namespace supercache
