#pragma once

/// A check of a record's MessagePack bytes without decoding them: whether
/// they are exactly what `append_msgpack` writes, and where the key and
/// partition elements lie in them.
///
/// A receiver checks every record another node sends (`packed::from_block`,
/// `check_owner`); decoding each one into a `record` to check it cost about
/// as much as storing it. Everything this library packs is canonical, so the
/// scan decides the common case in one pass with no allocation; what it does
/// not decide (non-canonical or unusual bytes) goes to the full check.

#include <cstddef>
#include <optional>
#include <string_view>

#include <supercache/record.hpp>

namespace supercache {

/// What `scan_canonical` finds in a record's bytes.
struct canonical_record {
  /// Number of elements of the record's array.
  size_t elements = 0;

  /// Bytes of the element at `key_pos`; empty if the array is shorter.
  std::string_view key;

  /// Bytes of the element at `partition_pos`; empty if the array is shorter.
  std::string_view partition;
};

/// Returns the top-level shape of `bytes` if they are one MessagePack array,
/// nested at most `max_depth` levels (at most `max_record_depth` on this
/// path), that is exactly what `append_msgpack` writes for the record
/// `from_msgpack` decodes from them: shortest integer and length forms,
/// float32 only for a finite value and float64 only where float32 would lose
/// it, nothing after the array. Then `key` is what `key_of` gives and
/// `partition_hash(partition)` picks the record's partition.
///
/// Returns `std::nullopt` for everything else, valid or not, including maps,
/// binaries and extension types, which callers check the full way. Never
/// allocates, never recurses.
std::optional<canonical_record>
scan_canonical(std::string_view bytes, const record_layout& layout,
               size_t max_depth = max_record_depth) noexcept;

} // namespace supercache
