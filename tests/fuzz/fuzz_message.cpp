// Fuzz target for what a remote peer can send the cache node's actors
// (issue 10, item 7): the bytes after the first are CAF binary serializer
// output, read as a batch of entries (a partition's stream batch, or the
// `entry`s a peer sends a buffer) and as the handshake's buffer index; the
// first byte picks the partition count (1-8) and the receiving partition.
//
// Properties, through the same checks the handlers call
// (actors/remote_guard.hpp):
// - deserializing only ever returns errors, never crashes;
// - `check_entry` (the buffer's `entry` handler) takes exactly the records
//   whose partition is in range, so `partitioned_output::push_to` never
//   indexes out of bounds;
// - after `check_batch` (the partition's batch handler) no record for
//   another partition is left, and storing the batch stores at most the
//   records for this one, each of which unpacks;
// - `check_owner` (a batch from another node) leaves only records that
//   decode and belong to this partition by their own bytes;
// - `check_handshake` takes exactly the buffer indices a node may have.

#include <cstddef>
#include <cstdint>
#include <vector>

#include <caf/binary_deserializer.hpp>
#include <caf/error.hpp>

#include "tests/fuzz/fuzz_check.hpp"
#include "actors/messages.hpp"
#include "actors/remote_guard.hpp"
#include "core/names.hpp"
#include "core/table.hpp"

using namespace supercache;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1)
    return 0;
  auto partitions = static_cast<uint32_t>(data[0] % 8) + 1;
  auto index = static_cast<uint32_t>(data[0] >> 3) % partitions;
  auto bytes = reinterpret_cast<const char*>(data + 1);
  auto n = size - 1;
  {
    // One entry, as a peer sends it to a buffer.
    caf::binary_deserializer src{nullptr, bytes, n};
    entry x;
    if (!src(x)) {
      auto ok = check_entry(x, partitions);
      FUZZ_CHECK(ok == (!is_barrier(x) && x.partition < partitions));
    }
  }
  {
    // The handshake's buffer index.
    caf::binary_deserializer src{nullptr, bytes, n};
    uint32_t buffer_index = 0;
    if (!src(buffer_index))
      FUZZ_CHECK(check_handshake(buffer_index)
                 == (buffer_index < max_registered_id));
  }
  // A batch, as a partition's sink receives it.
  caf::binary_deserializer src{nullptr, bytes, n};
  std::vector<entry> batch;
  if (src(batch))
    return 0;
  size_t mine = 0;
  size_t others = 0;
  for (auto& x : batch)
    if (!is_barrier(x) && !x.value.empty())
      ++(x.partition == index ? mine : others);
  FUZZ_CHECK(check_batch(batch, index) == others);
  for (auto& x : batch)
    FUZZ_CHECK(is_barrier(x) || x.value.empty() || x.partition == index);
  // From another node the partition also checks each record's own bytes:
  // what is left decodes, its partition element picks this partition and
  // its header's key is its key element (so `get` finds it).
  record_layout layout;
  auto not_owned = check_owner(batch, index, partitions, layout);
  size_t kept = 0;
  for (auto& x : batch) {
    if (is_barrier(x) || x.value.empty())
      continue;
    ++kept;
    auto rec = x.value.unpack();
    FUZZ_CHECK(!rec.is_discarded());
    if (rec.is_discarded())
      continue;
    FUZZ_CHECK(partition_of(rec, layout, partitions) == index);
    FUZZ_CHECK(key_of(rec, layout) == x.value.key());
  }
  FUZZ_CHECK(kept + not_owned == mine);
  table tbl{table_type::bag, layout};
  auto applied = tbl.insert(batch);
  FUZZ_CHECK(applied == kept);
  FUZZ_CHECK(tbl.size() <= applied);
  return 0;
}
