#pragma once

/// The options of `supercache-node` only: what it runs (`role`), where a
/// cache node listens (`host`, `port`) and what it ingests (`input`). They
/// share the `[supercache]` section with the library's options, but only the
/// node declares them: a program that calls just `supercache::configure`
/// neither lists them in `--long-help` nor accepts them in its config file.
/// Internal to this repository, not installed.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include <caf/actor_system_config.hpp>
#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <caf/string_view.hpp>

namespace supercache::node {

/// What `supercache-node` runs.
enum class node_role : uint8_t {
  /// Cache and buffers in one process; ingest, flush, print stats.
  standalone,
  /// Cache partitions published on `host`/`port` until SIGINT or SIGTERM.
  cache,
  /// Buffers streaming to the cache node at `remote`; ingest, flush, stats.
  producer,
};

/// Returns `"standalone"`, `"cache"` or `"producer"`.
const char* to_string(node_role x);

/// Parses the names of `to_string(node_role)`.
std::optional<node_role> node_role_from(const std::string& x);

/// Every option of `supercache-node` that the library does not read, with
/// its default. Declared once in `config/node_options.cpp`; the node reads
/// the library's options (`remote` among them) with `supercache::options`.
struct options {
  /// What the node runs.
  node_role role = node_role::standalone;

  /// Interface a cache node publishes its partitions on.
  std::string host = "127.0.0.1";

  /// Port a cache node listens on, 0..65535; 0 lets the OS pick one.
  size_t port = 0;

  /// NDJSON records for the node to ingest: a path, `-` for stdin, or empty
  /// for the sample shipped in `examples/data/`.
  std::string input;

  /// Reads and validates the node's options of `cfg` as
  /// `supercache::options::from` reads the library's: the config file and
  /// the effective values are checked, keys of the library's options are
  /// left to it, and any other key is `errc::invalid_option` naming it.
  static caf::expected<options> from(const caf::actor_system_config& cfg);

  /// Checks the ranges of all fields; returns `errc::invalid_option` naming
  /// the first field that is out of range.
  caf::error validate() const;
};

/// Declares the node's options (with descriptions for `--long-help`) in
/// `[supercache]` on `cfg`; declaring twice is harmless. The node calls it
/// in addition to `supercache::configure`.
void declare_options(caf::actor_system_config& cfg);

/// Returns whether `name` is a key of the node's options, e.g. `role`.
bool is_option(caf::string_view name);

} // namespace supercache::node
