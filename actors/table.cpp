#include "actors/table.hpp"

#include <algorithm>
#include <mutex>

namespace supercache {

table::table(table_type type, record_layout layout)
  : type_(type), layout_(layout) {
  // nop
}

void table::insert(record x) {
  std::unique_lock<std::shared_mutex> guard{mtx_};
  insert_locked(std::move(x));
}

size_t table::insert(std::vector<entry>& xs) {
  size_t applied = 0;
  std::unique_lock<std::shared_mutex> guard{mtx_};
  for (auto& x : xs) {
    if (x.barrier != 0)
      continue;
    insert_locked(std::move(x.value));
    ++applied;
  }
  return applied;
}

void table::insert_locked(record&& x) {
  auto& slot = data_[key_of(x, layout_)];
  if (type_ == table_type::set) {
    if (slot.empty()) {
      slot.emplace_back(std::move(x));
      size_.fetch_add(1, std::memory_order_release);
    } else {
      slot.front() = std::move(x);
    }
    return;
  }
  if (std::find(slot.begin(), slot.end(), x) == slot.end()) {
    slot.emplace_back(std::move(x));
    size_.fetch_add(1, std::memory_order_release);
  }
}

std::vector<record> table::get(const std::string& key) const {
  std::shared_lock<std::shared_mutex> guard{mtx_};
  auto i = data_.find(key);
  if (i == data_.end())
    return {};
  return i->second;
}

} // namespace supercache
