#pragma once

#include <cstddef>
#include <string>

#include <caf/atom.hpp>

namespace supercache {

/// The largest id of a registered name: `buffer_999` is the longest name
/// that fits CAF 0.17's 10-character atoms.
constexpr size_t max_registered_id = 999;

/// Returns the atom `prefix` + `id` (`"buffer_"`, 3 -> `buffer_3`), or the
/// empty atom if `id` is 0 or above `max_registered_id`.
inline caf::atom_value numbered_name(const char* prefix, size_t id) {
  if (id == 0 || id > max_registered_id)
    return caf::atom("");
  return caf::atom_from_string(prefix + std::to_string(id));
}

} // namespace supercache
