#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <nlohmann/json.hpp>

namespace supercache {

/// A record: a JSON array, the port of an Elixir tuple (`["user", 1, "A"]`).
using record = nlohmann::json;

/// Where a record keeps its key and the element that picks its partition.
struct record_layout {
  /// Position of the key element (0-based).
  size_t key_pos = 0;

  /// Position of the element that picks the cache partition (0-based).
  size_t partition_pos = 0;
};

/// The deepest nesting a record may have, on every path (`lazy_put`, `put`,
/// a buffer's `put_atom`, the node's NDJSON ingest, and records received
/// over the network): the record's own array is level 1, so `[[1]]` has
/// depth 2. Deeper records are `errc::invalid_record` and never accepted.
constexpr size_t max_record_depth = 512;

/// Checks that `x` is a JSON array long enough for `layout` and nested at
/// most `max_record_depth` levels (checked without recursion); returns
/// `errc::invalid_record` naming what is wrong otherwise.
caf::error validate(const record& x, const record_layout& layout);

/// Appends the MessagePack encoding of `x` to `out`. Equal values give equal
/// bytes, and values of different JSON types give different bytes (`1`,
/// `1.0` and `"1"` differ; a signed and an unsigned 5 do not). Iterative:
/// any depth is encoded without growing the stack.
void append_msgpack(const record& x, std::string& out);

/// Checks that `bytes` are one well-formed MessagePack array nested at most
/// `max_depth` levels, exactly what `from_msgpack` accepts as a record,
/// without building it; `caf::sec::invalid_argument` otherwise.
caf::error check_msgpack_array(std::string_view bytes,
                               size_t max_depth = max_record_depth);

/// Decodes MessagePack bytes; nesting deeper than `max_depth` and malformed
/// bytes give `caf::sec::invalid_argument` instead of a crash.
caf::expected<record> from_msgpack(std::string_view bytes,
                                   size_t max_depth = max_record_depth);

/// Returns the stored form of the key of a valid record `x`: the MessagePack
/// bytes of its key element, so `1`, `1.0` and `"1"` are three keys (as in
/// ETS).
std::string key_of(const record& x, const record_layout& layout);

/// Returns the hash that picks a partition from the MessagePack bytes of a
/// partition element.
uint64_t partition_hash(std::string_view element_bytes) noexcept;

/// Returns `partition_hash` of bytes whose `std::hash<std::string_view>` is
/// `bytes_hash` (a lookup hashes its key bytes once for partition and slot).
uint64_t partition_hash_from(size_t bytes_hash) noexcept;

/// Maps a partition hash to a partition (0-based, below `partitions`):
/// `hash % partitions` (a mask for a power of two, which gives the same
/// partition without a division).
inline uint32_t partition_index(uint64_t hash, size_t partitions) noexcept {
  if (partitions <= 1)
    return 0;
  if ((partitions & (partitions - 1)) == 0) // 2, 4, 8, ...
    return static_cast<uint32_t>(hash & (partitions - 1));
  return static_cast<uint32_t>(hash % partitions);
}

/// Returns the partition (0-based, below `partitions`) of a valid record `x`.
/// Equal partition elements always pick the same partition.
uint32_t partition_of(const record& x, const record_layout& layout,
                      size_t partitions);

} // namespace supercache
