#pragma once

/// What actors of your own system need to send records to supercache's
/// actors: the public atoms and a CAF `inspect` for `record`
/// (`nlohmann::json`), which CAF 0.17 requires of every type in a message.
///
/// Not included by `<supercache/supercache.hpp>`: an application that
/// defines its own `nlohmann::inspect` for `nlohmann::json` keeps it and
/// does not include this header (CAF then uses its own overload for the
/// messages its actors build; the library's actors use this one).
///
/// | message               | to                                   | reply                         |
/// |-----------------------|--------------------------------------|-------------------------------|
/// | `(flush_atom)`        | the front (`instance::front_name()`) | `ok_atom` once every buffer flushed |
/// | `(flush_atom)`        | `buffer_N`                           | `ok_atom` once visible        |
/// | `(put_atom, record)`  | `buffer_N`                           | `ok_atom`, or an error        |
/// | `(put_atom, record)`  | `cache_P`                            | `ok_atom` once stored         |
/// | `(get_atom, record)`  | `cache_P`                            | `std::vector<record>`         |
/// | `(erase_atom, record)` | `cache_P`                           | `uint64_t` records removed    |
/// | `(match_atom, record)` | `cache_P`                           | `std::vector<record>`, or `too_large` above 64 MiB |
/// | `(clear_atom)`        | `cache_P`                            | `uint64_t` records removed    |
/// | `(size_atom)`         | `cache_P`, the front                 | `uint64_t`                    |
/// | `(stats_atom)`        | `buffer_N`, `cache_P`, the front     | counters as `record`          |

#include <string>

#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/meta/load_callback.hpp>
#include <caf/meta/type_name.hpp>

#include <supercache/record.hpp>

namespace supercache {

// Predefined by CAF 0.17.6 and reused: caf::put_atom, caf::get_atom,
// caf::flush_atom, caf::ok_atom.

/// Asks a cache partition or the front for its number of records.
using size_atom = caf::atom_constant<caf::atom("sc_size")>;

/// Asks a buffer, a cache partition or the front for its counters (JSON).
using stats_atom = caf::atom_constant<caf::atom("sc_stats")>;

/// Asks a cache partition to remove the records of a pattern's key.
using erase_atom = caf::atom_constant<caf::atom("sc_erase")>;

/// Asks a cache partition for the records that match a pattern.
using match_atom = caf::atom_constant<caf::atom("sc_match")>;

/// Asks a cache partition to remove every record.
using clear_atom = caf::atom_constant<caf::atom("sc_clear")>;


} // namespace supercache

namespace nlohmann {

/// Serializes a JSON value as its MessagePack bytes (compact, lossless), so
/// that records can travel in CAF messages; received bytes are checked, and
/// nesting deeper than `supercache::max_record_depth` levels is rejected
/// rather than overflowing the stack.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, json& x) {
  std::string bytes;
  if constexpr (Inspector::reads_state)
    supercache::append_msgpack(x, bytes);
  auto load = caf::meta::load_callback([&]() -> caf::error {
    auto y = supercache::from_msgpack(bytes);
    if (!y)
      return std::move(y.error());
    x = std::move(*y);
    return caf::none;
  });
  return f(caf::meta::type_name("json"), bytes, load);
}

} // namespace nlohmann
