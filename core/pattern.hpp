#pragma once

/// A `match` pattern, compiled once and tested against the MessagePack bytes
/// of stored records without unpacking them.
///
/// **Semantics.** A pattern is a JSON array. A record matches when, at every
/// position of the pattern, the pattern's element is `null` or equals the
/// record's element. Elements compare as their stored form (the MessagePack
/// bytes of `append_msgpack`, as keys do): `1`, `1.0` and `"1"` differ, a
/// signed and an unsigned 5 do not. `null` is a wildcard only at the top
/// level: inside a nested array or object it is compared literally. A
/// pattern may be shorter than the record (the record's further elements
/// match anything); a record shorter than the pattern matches only if the
/// pattern's elements beyond it are all `null` (`null` also matches a
/// missing element). The empty pattern `[]` matches every record.
///
/// **Bad patterns.** Anything but a JSON array, and arrays nested deeper
/// than `max_record_depth`, are `errc::invalid_record` naming what was
/// wrong (checked the same way for local calls and for patterns from
/// another node).

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/expected.hpp>

#include <supercache/record.hpp>

namespace supercache {

/// A compiled `match` pattern (see the file comment).
class record_pattern {
public:
  /// Compiles `pattern`; errors: `invalid_record` (not an array, too deep).
  static caf::expected<record_pattern> make(const record& pattern,
                                            const record_layout& layout);

  /// Returns whether the record with MessagePack bytes `bytes` (a valid
  /// stored record: one array) matches.
  bool matches(std::string_view bytes) const noexcept;

  /// Returns the stored form of the key when the pattern fixes the key
  /// element (not null at `key-pos`): then only records of that key match,
  /// and a table looks up its key instead of scanning.
  const std::optional<std::string>& key() const noexcept {
    return key_;
  }

  /// Returns the partition element's stored form when the pattern fixes it
  /// (not null at `partition-pos`): then only one partition holds matches.
  const std::optional<std::string>& partition_element() const noexcept {
    return partition_element_;
  }

private:
  /// The stored form of each position's element; nullopt for `null`.
  std::vector<std::optional<std::string>> elements_;

  /// Number of leading positions up to the last non-null one.
  size_t significant_ = 0;

  std::optional<std::string> key_;

  std::optional<std::string> partition_element_;
};

/// Returns the size of the MessagePack element at the start of `bytes`, or 0
/// if it is malformed or truncated (iterative: any depth).
size_t msgpack_element_size(std::string_view bytes) noexcept;

/// Reads a MessagePack array header at the start of `bytes`: returns the
/// number of elements and sets `header` to the header's size; nullopt if
/// `bytes` does not start with an array header.
std::optional<size_t> msgpack_array_header(std::string_view bytes,
                                           size_t& header) noexcept;

} // namespace supercache
