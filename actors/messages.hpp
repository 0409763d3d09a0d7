#pragma once

/// The message vocabulary of supercache: the record type, the stream element
/// and every atom the buffer and cache actors exchange. Declared here once.
///
/// | message                              | to     | from             | reply                     |
/// |--------------------------------------|--------|------------------|---------------------------|
/// | `(put_atom, record)`                 | buffer | any actor        | `ok_atom` or an error     |
/// | `(flush_atom)`                       | buffer | any actor        | `ok_atom` once visible    |
/// | `(stop_atom)`                        | buffer | `buffer::stop`   | `ok_atom` once drained    |
/// | `(entry)`                            | buffer | `lazy_put`, `lazy_erase` | none              |
/// | `(stream<entry>, uint32_t buffer)`   | cache  | buffer           | stream of batches         |
/// | `(flushed_atom, uint64_t barrier)`   | buffer | cache            | none                      |
/// | `(refused_atom, uint64_t n)`         | buffer | cache            | none                      |
/// | `(reopen_atom, idx, actor)`          | buffer | supervisor       | none                      |
/// | `(watch_atom, bool, idx, actor)`     | supervisor | the instance | none                      |
/// | `(put_atom, record)`                 | cache  | remote `put`, any actor | `ok_atom` or an error |
/// | `(put_atom, std::vector<record>)`    | cache  | remote `put_batch`, any actor | `ok_atom` or an error naming the index |
/// | `(get_atom, record pattern)`         | cache  | any actor        | `std::vector<record>`     |
/// | `(erase_atom, record pattern)`       | cache  | any actor        | `uint64_t` records removed |
/// | `(match_atom, record pattern)`       | cache  | any actor        | `std::vector<record>` (at most `max_reply_bytes`, else `too_large`) |
/// | `(clear_atom)`                       | cache  | any actor        | `uint64_t` records removed |
/// | `(size_atom)`                        | cache  | any actor        | `uint64_t`                |
/// | `(stats_atom)`                       | both   | any actor        | counters as `record`      |
/// | `(reclaim_atom)`                     | cache  | itself (timer)   | none                      |
/// | `(cluster_atom)`                     | front  | remote `connect` | `(std::string place, uint64_t records)` |
/// | `(cluster_atom, std::string)`        | front  | remote `connect` | `ok_atom`, or `invalid_option` naming both clusters |
/// | `(rejoin_atom, std::string, std::vector<std::string>)` | front | remote `connect` | `ok_atom` once every partition copied its leader, or an error |
/// | `(rejoin_atom, actor leader, node_id)` | cache | its front       | `ok_atom` once the copy arrived |
/// | `(follow_atom, node_id direct)`      | cache  | a follower partition, its front | `ok_atom` (to a new follower: after the copy) |
/// | `(copy_atom, std::vector<entry>)`    | cache  | its leader partition | none                  |
/// | `(follow_atom, uint32_t partition, node_id, uint64_t token)` | buffer | a remote lane of `partition` (a leader) | none |
/// | `(follow_atom, node_id, uint32_t buffer, uint64_t barrier)` | cache | its leader partition | none |
/// | `(vouch_atom, node_id producer)`     | cache  | its leader partition | none                  |
/// | `(copied_atom, uint64_t n)`          | cache  | its follower     | none                      |
/// | `(dropped_atom)`                     | cache  | its leader partition | none                  |
///
/// `stop_atom`, `entry`, `reopen_atom` and `watch_atom`/`retry_atom` are
/// local only: refused from another node (actors/remote_guard.hpp), as are
/// exits; a stream from another node is checked (buffer index, partition
/// of each record) before anything is stored. Between nodes a stream batch
/// travels as one block of bytes (`write_batch`, `read_batch`), not field by
/// field.

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/meta/load_callback.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/sec.hpp>
#include <caf/binary_deserializer.hpp>
#include <caf/deserializer.hpp>
#include <caf/serializer.hpp>

#include "core/packed.hpp"
#include <supercache/messages.hpp>
#include <supercache/record.hpp>

namespace supercache {

// -- atoms (at most 10 characters in CAF 0.17) --------------------------------

// The public atoms (size_atom, stats_atom, erase_atom, match_atom,
// clear_atom) and the `inspect` of `record`
// are in <supercache/messages.hpp>; these are internal.

/// Asks a buffer to drain into the cache and terminate.
using stop_atom = caf::atom_constant<caf::atom("sc_stop")>;

/// Tells a buffer that a cache partition applied everything up to a barrier.
using flushed_atom = caf::atom_constant<caf::atom("sc_flushed")>;

/// Asks the supervisor to watch a partition or a buffer.
using watch_atom = caf::atom_constant<caf::atom("sc_watch")>;

/// Tells the supervisor to try a restart again.
using retry_atom = caf::atom_constant<caf::atom("sc_retry")>;

/// Tells a buffer that a cache partition was restarted.
using reopen_atom = caf::atom_constant<caf::atom("sc_reopen")>;

/// Tells a buffer how many of its records a cache partition refused (they
/// arrived undecodable).
using refused_atom = caf::atom_constant<caf::atom("sc_refused")>;

/// A cache partition's timer to itself: remove expired records.
using reclaim_atom = caf::atom_constant<caf::atom("sc_reclaim")>;

/// Tells a cache node's front which cluster a producer placed it in.
using cluster_atom = caf::atom_constant<caf::atom("sc_cluster")>;

/// Tells a restarted cache node (its front, then each partition) to copy
/// its partitions from live copies on other nodes.
using rejoin_atom = caf::atom_constant<caf::atom("sc_rejoin")>;

/// Asks a cache partition to copy itself to the sender and forward what it
/// applies later (a follower), except what a direct producer sends both.
using follow_atom = caf::atom_constant<caf::atom("sc_follow")>;

/// Records a leader partition copies or forwards to its follower.
using copy_atom = caf::atom_constant<caf::atom("sc_copy")>;

/// A follower tells its leader how many copied or forwarded records it
/// applied: the leader's credit for its forwards.
using copied_atom = caf::atom_constant<caf::atom("sc_copied")>;

/// A leader partition tells its follower that it dropped it (it fell
/// behind): nothing more comes from the leader.
using dropped_atom = caf::atom_constant<caf::atom("sc_dropped")>;

/// A leader partition tells its follower that a producer's node takes the
/// follower back, so it may write there (core/placed_peers.hpp).
using vouch_atom = caf::atom_constant<caf::atom("sc_vouch")>;

// -- stream element -----------------------------------------------------------

/// One element of a buffer's stream: a packed record bound for one cache
/// partition, or a flush barrier that travels to every partition behind the
/// records before it.
struct entry {
  /// Index of the destination partition (0-based); unused for barriers.
  uint32_t partition = 0;

  /// 0 for a record; otherwise the id of a flush barrier of the sender.
  uint64_t barrier = 0;

  /// The record; empty for barriers, and for a record that arrived from
  /// another node and failed its checks (see `is_refused`).
  packed value;

  /// For 1 in `latency_sample_every` records: when it was enqueued
  /// (`steady_ns`), so the cache can time enqueue-to-visible; else 0. In a
  /// copy (`copy_atom`): the record's age since its last write, in ns.
  int64_t enqueued_ns = 0;

  /// Whether this is a lazy erase (`instance::lazy_erase`) rather than a
  /// record: `value` then holds the pattern, packed as a record, and the
  /// partition removes every record of its key, in stream order with the
  /// records around it.
  bool erase = false;
};

/// Returns whether `x` is a flush barrier rather than a record.
inline bool is_barrier(const entry& x) noexcept {
  return x.barrier != 0;
}

/// Returns whether `x` is a hand-over: a barrier with `erase` set, which a
/// producer's buffer sends its leader lane of a partition (and first on its
/// new lane to the leader's follower) when it takes a rejoined copy back
/// (actors/buffer_takeback.hpp). Its `enqueued_ns` holds the leader's token
/// of the follower; its `partition` is 1 on the new lane (the follower
/// holds that stream until its leader tells it the hand-over arrived) and 0
/// on the leader's. Acknowledged like any barrier.
inline bool is_handover(const entry& x) noexcept {
  return x.barrier != 0 && x.erase;
}

/// Returns whether `x` is a record its receiver could not decode (malformed,
/// or nested deeper than `max_record_depth`): the partition skips it and
/// counts it back to its buffer, which counts it as lost; the rest of its
/// batch is stored.
inline bool is_refused(const entry& x) noexcept {
  return x.barrier == 0 && x.value.empty();
}

/// One record in this many carries its enqueue time.
constexpr uint32_t latency_sample_every = 16;

/// Serializes a packed record as its block. A received block is checked
/// (bounds, MessagePack, nesting depth); one that fails decodes to an empty
/// packed, so that its `entry` is refused alone (`is_refused`) instead of
/// failing the whole message. Only a length beyond the message fails it.
/// @relates packed
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, packed& x) {
  if constexpr (std::is_base_of<caf::serializer, Inspector>::value) {
    // The wire format of a std::string holding the block, written from its
    // parts without copying the record.
    auto size = x.block_size();
    if (auto err = f.begin_sequence(size))
      return err;
    if (size > 0) {
      char header[packed::header_size];
      x.write_header(header);
      auto bytes = x.bytes();
      if (auto err = f.apply_raw(packed::header_size, header))
        return err;
      if (auto err = f.apply_raw(bytes.size(), const_cast<char*>(bytes.data())))
        return err;
    }
    return f.end_sequence();
  } else if constexpr (std::is_base_of<caf::deserializer, Inspector>::value) {
    // From a binary deserializer (BASP's), read into the packed record's own
    // block, then check it; a length beyond the message is rejected before
    // anything is allocated.
    if (auto bin = dynamic_cast<caf::binary_deserializer*>(&f)) {
      size_t size = 0;
      if (auto err = f.begin_sequence(size))
        return err;
      if (size > bin->remaining())
        return caf::make_error(caf::sec::end_of_stream,
                               "packed record longer than its message");
      x = packed{};
      if (!packed::valid_block_size(size)) {
        bin->skip(size);
        return f.end_sequence();
      }
      auto y = packed::receive(size, [&](char* buf) {
        return f.apply_raw(size, buf);
      });
      if (!y)
        return std::move(y.error());
      x = std::move(*y);
      return f.end_sequence();
    }
  }
  std::string block;
  if constexpr (Inspector::reads_state)
    block = x.block();
  auto load = caf::meta::load_callback([&]() -> caf::error {
    auto y = packed::from_block(block);
    x = y ? std::move(*y) : packed{};
    return caf::none;
  });
  return f(caf::meta::type_name("supercache::packed"), block, load);
}

/// @relates entry
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, entry& x) {
  return f(caf::meta::type_name("supercache::entry"), x.partition, x.barrier,
           x.value, x.enqueued_ns, x.erase);
}

// -- stream batches on the wire -------------------------------------------------

/// Appends the wire form of a stream batch to `out`: per entry its fixed
/// fields (little-endian: partition u32, barrier u64, enqueued_ns i64, erase
/// u8, block size u64; `entry_wire_size` bytes) and its packed block.
void write_batch(const std::vector<entry>& xs, std::string& out);

/// The version of `write_batch`'s form. A cache node reports it to a
/// connecting producer (`wire` in its settings), which refuses a node with
/// another (form 1, field by field, was used before 2026-12-01).
constexpr size_t batch_wire_form = 2;

/// Fixed bytes of one entry in `write_batch`'s form.
constexpr size_t entry_wire_size = 29;

/// Reads `n` entries in `write_batch`'s form that fill `bytes` exactly into
/// `xs`. A block that fails its checks (`packed::from_block`) gives an empty
/// packed, so its entry is refused alone (`is_refused`); a count or a size
/// beyond `bytes` fails the whole batch with `caf::sec::end_of_stream`.
caf::error read_batch(std::string_view bytes, size_t n, std::vector<entry>& xs);

/// Serializes a stream batch as one block of bytes (`write_batch`) instead
/// of field by field: one call into the serializer per batch, not eight per
/// record. The receiver checks every size before it allocates.
/// @relates entry
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, std::vector<entry>& xs) {
  if constexpr (std::is_base_of<caf::serializer, Inspector>::value) {
    thread_local std::string block;
    block.clear();
    write_batch(xs, block);
    auto n = xs.size();
    auto size = block.size();
    if (auto err = f.begin_sequence(n))
      return err;
    if (auto err = f.begin_sequence(size))
      return err;
    if (auto err = f.apply_raw(size, block.data()))
      return err;
    if (auto err = f.end_sequence())
      return err;
    return f.end_sequence();
  } else if constexpr (std::is_base_of<caf::deserializer, Inspector>::value) {
    size_t n = 0;
    size_t size = 0;
    if (auto err = f.begin_sequence(n))
      return err;
    if (auto err = f.begin_sequence(size))
      return err;
    if (n > size / entry_wire_size)
      return caf::make_error(caf::sec::end_of_stream,
                             "stream batch shorter than its entries");
    if (auto bin = dynamic_cast<caf::binary_deserializer*>(&f)) {
      // BASP's: read in place, after checking the size against the message.
      if (size > bin->remaining())
        return caf::make_error(caf::sec::end_of_stream,
                               "stream batch longer than its message");
      auto rest = bin->remainder();
      auto err = read_batch({reinterpret_cast<const char*>(rest.data()), size},
                            n, xs);
      if (err)
        return err;
      bin->skip(size);
    } else {
      // Any other source: read in chunks, so that a forged size cannot
      // allocate more than the source holds.
      std::string block;
      constexpr size_t chunk = 65536;
      while (block.size() < size) {
        auto m = std::min(chunk, size - block.size());
        auto old = block.size();
        block.resize(old + m);
        if (auto err = f.apply_raw(m, block.data() + old))
          return err;
      }
      if (auto err = read_batch(block, n, xs))
        return err;
    }
    if (auto err = f.end_sequence())
      return err;
    return f.end_sequence();
  } else {
    // Other inspectors (to_string, logs): the size only.
    auto n = xs.size();
    return f(caf::meta::type_name("supercache::batch"), n);
  }
}

} // namespace supercache

