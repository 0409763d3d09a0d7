#pragma once

#include <atomic>
#include <cstddef>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "actors/messages.hpp"
#include "actors/record.hpp"
#include "config/options.hpp"

namespace supercache {

/// The records of one cache partition, keyed by `key_of`.
///
/// Thread safety: one writer (the partition's cache actor) and any number of
/// concurrent readers. Writers take an exclusive lock once per batch; readers
/// take a shared lock, so `get` and `size` never go through the actor (like
/// ETS's read concurrency).
class table {
public:
  // -- constructors -----------------------------------------------------------

  table(table_type type, record_layout layout);

  table(const table&) = delete;
  table& operator=(const table&) = delete;

  // -- writing (the owning actor only) ----------------------------------------

  /// Stores one valid record: for `set` it replaces the record of its key, for
  /// `bag` it is added unless an equal record is stored under its key.
  void insert(record x);

  /// Stores every record of `xs` that is not a barrier, in order, under one
  /// lock. Returns the number of records applied.
  size_t insert(std::vector<entry>& xs);

  // -- reading (any thread) ---------------------------------------------------

  /// Returns the records stored under `key` (`key_of` form).
  std::vector<record> get(const std::string& key) const;

  /// Returns the number of records stored.
  size_t size() const noexcept {
    return size_.load(std::memory_order_acquire);
  }

  /// Returns the storage discipline.
  table_type type() const noexcept {
    return type_;
  }

  /// Returns where records keep their key.
  const record_layout& layout() const noexcept {
    return layout_;
  }

private:
  void insert_locked(record&& x);

  const table_type type_;
  const record_layout layout_;
  mutable std::shared_mutex mtx_;
  std::unordered_map<std::string, std::vector<record>> data_;
  std::atomic<size_t> size_{0};
};

} // namespace supercache
