#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include <caf/actor_system_config.hpp>
#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <caf/timespan.hpp>

#include <supercache/record.hpp>

namespace supercache {

/// Storage discipline of the cache partitions (ETS table types).
enum class table_type : uint8_t {
  /// One record per key: the last write of a key wins.
  set,
  /// Distinct records per key: writing an equal record twice stores it once.
  bag,
};

/// Returns `"set"` or `"bag"`.
const char* to_string(table_type x);

/// What `lazy_put` does when its buffer holds `max-pending` records.
enum class overflow_policy : uint8_t {
  /// Wait up to `block-timeout` for room, then fail with `errc::overloaded`.
  block,
  /// Fail at once with `errc::overloaded`.
  reject,
  /// Accept; the buffer drops its oldest pending record and counts it.
  drop_oldest,
};

/// Returns `"block"`, `"reject"` or `"drop-oldest"`.
const char* to_string(overflow_policy x);

/// Parses the names of `to_string(overflow_policy)`.
std::optional<overflow_policy> overflow_policy_from(const std::string& x);

/// A `HOST:PORT` address of a cache node.
struct endpoint {
  std::string host;
  uint16_t port = 0;
  /// The entry as written (`HOST:PORT`), to name the node in messages.
  std::string text;
};

/// Parses `HOST:PORT` (port 1..65535); `errc::invalid_option` naming `x`
/// otherwise.
caf::expected<endpoint> parse_endpoint(const std::string& x);

/// Parses `HOST:PORT,HOST:PORT,...` (a cluster of cache nodes, in map
/// order; one entry for a single node): `errc::invalid_option` naming the
/// bad or repeated entry otherwise.
caf::expected<std::vector<endpoint>> parse_endpoints(const std::string& x);

/// Every option of the `[supercache]` configuration section that the library
/// reads, with its default. Declared once in `config/options.cpp`; the
/// options of `supercache-node` only (`role`, `host`, `port`, `input`) are
/// declared by the node itself. See README "Configuration".
struct options {
  /// Number of buffer actors (`buffer_1` ... `buffer_N`), 1..999;
  /// 0 means one per scheduler worker, resolved by `start`.
  size_t buffers = 0;

  /// Number of cache partitions (`cache_1` ... `cache_P`), 1..999;
  /// 0 means one per scheduler worker, resolved by `start`.
  size_t partitions = 0;

  /// Position of the key element in a record (0-based).
  size_t key_pos = 0;

  /// Position of the element that picks the partition of a record (0-based).
  size_t partition_pos = 0;

  /// Storage discipline of the cache partitions.
  table_type type = table_type::set;

  /// Records a buffer may hold (accepted, not yet stored in the cache)
  /// before `overflow` applies. At about 100-200 bytes a pending record, the
  /// default keeps 4 buffers under 100 MB.
  size_t max_pending = 100'000;

  /// What `lazy_put` does at `max_pending`.
  overflow_policy overflow = overflow_policy::block;

  /// How long a blocked `lazy_put` waits for room.
  caf::timespan block_timeout = std::chrono::seconds(1);

  /// The cache node that `connect` streams to, as `HOST:PORT`, or the
  /// cache nodes of a cluster, `HOST:PORT,HOST:PORT,...` (see
  /// `core/cluster_map.hpp` for which node holds which partition).
  std::string remote;

  /// Copies of each partition in a cluster (`remote` lists the nodes),
  /// 1..number of nodes: a buffer streams every record to each copy.
  size_t replicas = 1;

  /// How long `connect` waits for the cache node to answer.
  caf::timespan connect_timeout = std::chrono::seconds(5);

  /// How long a blocking call (`start`, `stop`, `flush`, `put`, `stats`,
  /// `buffer::start`/`stop`) waits before it fails with `errc::timeout`.
  caf::timespan call_timeout = std::chrono::seconds(30);

  /// How long a record stays visible after its last write (`put`,
  /// `lazy_put`): then `get` and `size` no longer see it, and its partition
  /// removes it (counted as `expired`). 1 ms resolution, 1ms..596h; 0 (the
  /// default, the key omitted) keeps records for ever.
  caf::timespan ttl{0};

  /// Records one cache partition holds at most: storing a new record at the
  /// bound removes expired records first, then the least recently written
  /// record (counted as `evicted`). 0 (the default, the key omitted) for no
  /// bound.
  size_t max_records = 0;

  /// Lets `publish` listen without TLS on a host other than loopback
  /// (`127.0.0.0/8`, `::1`, `localhost`). Off by default: a plaintext cache
  /// node can be read and written by anyone who reaches its port, so without
  /// CAF's `[openssl]` keys `publish` refuses such a host with
  /// `errc::invalid_option`. In a config file `allow-insecure = true`; on
  /// the command line the flag `--supercache.allow-insecure` (CAF 0.17 takes
  /// no value for a boolean there).
  bool allow_insecure = false;

  /// Reads and validates the `[supercache]` options of `cfg`, including the
  /// config file `cfg` was parsed from: a key that is not declared on `cfg`
  /// (e.g. `role` in a program other than `supercache-node`), a value of the
  /// wrong type or out of range gives `errc::invalid_option` naming key and
  /// value. Keys of options declared by another table (the node's) are left
  /// to that table. Also checks CAF's `[openssl]` keys: `certificate`, `key`
  /// and `cafile` or `capath` together turn TLS on, none of them leaves it
  /// off, anything in between is `errc::invalid_option` naming the missing
  /// keys.
  static caf::expected<options> from(const caf::actor_system_config& cfg);

  /// Returns where records keep their key and partition element.
  record_layout layout() const noexcept {
    return {key_pos, partition_pos};
  }

  /// Checks the ranges of all fields; returns `errc::invalid_option` naming
  /// the first field that is out of range.
  caf::error validate() const;
};

/// Declares the library's `[supercache]` options (with descriptions for
/// `--long-help`) on `cfg`; declaring twice is harmless. Called by
/// `supercache::configure`.
void declare_options(caf::actor_system_config& cfg);

} // namespace supercache
