#pragma once

#include <cstddef>
#include <string>

#include <caf/error.hpp>

#include "actors/messages.hpp"

namespace supercache {

/// Where a record keeps its key and the element that picks its partition.
struct record_layout {
  /// Position of the key element (0-based).
  size_t key_pos = 0;

  /// Position of the element that picks the cache partition (0-based).
  size_t partition_pos = 0;
};

/// Checks that `x` is a JSON array long enough for `layout`; returns
/// `errc::invalid_record` naming what is wrong otherwise.
caf::error validate(const record& x, const record_layout& layout);

/// Returns the stored form of the key of a valid record `x`: its key element
/// as compact JSON text, so `1`, `1.0` and `"1"` are three keys (as in ETS).
std::string key_of(const record& x, const record_layout& layout);

/// Returns the partition (0-based, below `partitions`) of a valid record `x`.
/// Equal partition elements always pick the same partition.
uint32_t partition_of(const record& x, const record_layout& layout,
                      size_t partitions);

} // namespace supercache
