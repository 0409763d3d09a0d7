#pragma once

/// The machinery shared by the option tables of the `[supercache]` section:
/// the spec type, declaring a table on a config, and reading and checking a
/// table's values from the config file and from the parsed content.
///
/// Each option is declared once, in one table: the library's in
/// `config/options.cpp` (declared by `supercache::configure`), the node's in
/// `config/node_options.cpp` (declared by `node::declare_options`). A table
/// reads its own keys of `[supercache]`, leaves the keys that another table
/// declared on the same config to that table, and rejects every other key
/// with `errc::invalid_option` naming it.

#include <cstddef>
#include <cstdint>
#include <string>

#include <caf/actor_system_config.hpp>
#include <caf/config_option_set.hpp>
#include <caf/config_value.hpp>
#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <caf/settings.hpp>
#include <caf/string_view.hpp>
#include <caf/timespan.hpp>

namespace supercache::detail {

// -- the spec type ------------------------------------------------------------

/// The section every option table declares its keys in.
constexpr const char* option_section = "supercache";

/// What values an option takes.
enum class option_kind : uint8_t {
  /// Number of numbered actors: absent (auto) or 1..`max_registered_id`.
  count,
  /// Position in a record: any non-negative integer.
  position,
  /// A limit: an integer of at least 1.
  limit,
  /// A TCP port, 0..65535.
  port,
  /// A duration such as `500ms` (CAF timespan syntax), not negative.
  duration,
  /// A lifetime: a duration of 1ms..596h (millisecond stamps of 32 bits).
  lifetime,
  /// Any string.
  text,
  /// A `HOST:PORT` string, or empty.
  endpoint,
  /// One of a fixed set of names, e.g. `"set"` or `"bag"`.
  choice,
  /// `true` or `false`.
  flag,
};

/// What an option spec says independent of the struct it fills.
struct option_info {
  /// Key inside `[supercache]`, e.g. `buffers`.
  const char* name;
  /// Text shown by `--long-help`.
  const char* description;
  /// What values the option takes.
  option_kind kind;
  /// Prefix of the registered names for `count`, e.g. `buffer_`.
  const char* name_prefix;
  /// The accepted names for `choice`, as error messages show them.
  const char* choices;
};

/// One option of a table that fills an `Options` struct: the single place
/// where the option is declared.
template <class Options>
struct option_spec {
  /// Name, description and kind.
  option_info info;
  /// Field for `count`, `position`, `limit` and `port`, else `nullptr`.
  size_t Options::*size_field;
  /// Field for `duration`, else `nullptr`.
  caf::timespan Options::*duration_field;
  /// Field for `text` and `endpoint`, else `nullptr`.
  std::string Options::*text_field;
  /// Field for `flag`, else `nullptr`.
  bool Options::*flag_field;
  /// For `choice`: stores the value named by its argument; false if the name
  /// is not one of `info.choices`.
  bool (*choose)(const std::string&, Options&);
};

/// Returns the spec of an integer option (`count` with the prefix of its
/// registered names, `position`, `limit` or `port`).
template <class Options>
constexpr option_spec<Options>
size_option(const char* name, const char* description, option_kind kind,
            size_t Options::*field, const char* name_prefix = nullptr) {
  return {{name, description, kind, name_prefix, nullptr},
          field, nullptr, nullptr, nullptr, nullptr};
}

/// Returns the spec of a `duration` (or `lifetime`) option.
template <class Options>
constexpr option_spec<Options>
duration_option(const char* name, const char* description,
                caf::timespan Options::*field,
                option_kind kind = option_kind::duration) {
  return {{name, description, kind, nullptr, nullptr},
          nullptr, field, nullptr, nullptr, nullptr};
}

/// Returns the spec of a string option (`text` or `endpoint`).
template <class Options>
constexpr option_spec<Options>
text_option(const char* name, const char* description, option_kind kind,
            std::string Options::*field) {
  return {{name, description, kind, nullptr, nullptr},
          nullptr, nullptr, field, nullptr, nullptr};
}

/// Returns the spec of a `choice` option.
template <class Options>
constexpr option_spec<Options>
choice_option(const char* name, const char* description, const char* choices,
              bool (*choose)(const std::string&, Options&)) {
  return {{name, description, option_kind::choice, nullptr, choices},
          nullptr, nullptr, nullptr, nullptr, choose};
}

/// Returns the spec of a `flag` option.
template <class Options>
constexpr option_spec<Options>
flag_option(const char* name, const char* description,
            bool Options::*field) {
  return {{name, description, option_kind::flag, nullptr, nullptr},
          nullptr, nullptr, nullptr, field, nullptr};
}

// -- helpers for every table --------------------------------------------------

/// Returns `errc::invalid_option` unless `x` is a `lifetime`: 1ms..596h.
caf::error check_lifetime(const char* name, caf::timespan x,
                          const std::string* file);

/// Returns the options declared on `cfg` (by every table and by CAF).
const caf::config_option_set&
declared_options(const caf::actor_system_config& cfg);

/// Declares `spec` in `[supercache]` on `cfg` (for `--long-help` and the
/// command line) unless an earlier call did.
void declare_option(caf::actor_system_config& cfg, const option_info& spec);

/// Returns `errc::invalid_option`: `supercache.NAME = VALUE: WHAT`, followed
/// by ` (in FILE)` if `file` is not null.
caf::error value_error(const char* name, const std::string& value,
                       const std::string& what, const std::string* file);

/// Returns `must be 1..999 (names PREFIX1..PREFIX999)`.
std::string count_range(const char* name_prefix);

/// Checks the integer value `x` of an option of kind `count`, `position`,
/// `limit` or `port` and returns it.
caf::expected<size_t> read_size(const option_info& spec,
                                const caf::config_value& x,
                                const std::string* file);

/// Checks the duration value `x` (of a `duration` or `lifetime` option) and
/// returns it.
caf::expected<caf::timespan> read_duration(const option_info& spec,
                                           const caf::config_value& x,
                                           const std::string* file);

/// Checks the string value `x` of an option of kind `text` or `endpoint` and
/// returns it.
caf::expected<std::string> read_text(const option_info& spec,
                                     const caf::config_value& x,
                                     const std::string* file);

/// Returns `errc::invalid_option` naming `x` and the accepted names of the
/// `choice` option `spec`.
caf::error choice_error(const option_info& spec, const caf::config_value& x,
                        const std::string* file);

/// Returns none if `key` of `[supercache]` is an option that some table
/// declared on `cfg`, else `errc::invalid_option` naming the key (and saying
/// so if it is an option of `supercache-node` only).
caf::error check_declared(const caf::actor_system_config& cfg,
                          const std::string& key, const std::string* file);

/// Points `out` to the `[supercache]` section of `xs` (null if `xs` has
/// none); `errc::invalid_option` if `supercache` is not a section.
caf::error find_section(const caf::settings& xs, const caf::settings*& out,
                        const std::string* file);

/// Parses the config file of `cfg` into `out` without type checks; leaves
/// `out` empty if there is no file to check (no path, or a default name that
/// does not exist). A missing, unreadable or malformed file is
/// `errc::invalid_option` naming it.
caf::error read_config_file(const caf::actor_system_config& cfg,
                            caf::settings& out);

// -- generic table functions --------------------------------------------------

/// Returns the spec named `name` in `table`, or `nullptr`.
template <class Options, size_t N>
const option_spec<Options>*
find_spec(const option_spec<Options> (&table)[N], caf::string_view name) {
  for (auto& spec : table)
    if (name == spec.info.name)
      return &spec;
  return nullptr;
}

/// Declares every option of `table` on `cfg`; declaring twice is harmless.
template <class Options, size_t N>
void declare_table(const option_spec<Options> (&table)[N],
                   caf::actor_system_config& cfg) {
  for (auto& spec : table)
    declare_option(cfg, spec.info);
}

/// Checks `x` as value of `spec` (present, hence explicit) and stores it in
/// `out` on success.
template <class Options>
caf::error read_value(const option_spec<Options>& spec,
                      const caf::config_value& x, Options& out,
                      const std::string* file) {
  switch (spec.info.kind) {
    case option_kind::count:
    case option_kind::position:
    case option_kind::limit:
    case option_kind::port: {
      auto value = read_size(spec.info, x, file);
      if (!value)
        return std::move(value.error());
      out.*spec.size_field = *value;
      return caf::none;
    }
    case option_kind::duration:
    case option_kind::lifetime: {
      auto value = read_duration(spec.info, x, file);
      if (!value)
        return std::move(value.error());
      out.*spec.duration_field = *value;
      return caf::none;
    }
    case option_kind::text:
    case option_kind::endpoint: {
      auto value = read_text(spec.info, x, file);
      if (!value)
        return std::move(value.error());
      out.*spec.text_field = std::move(*value);
      return caf::none;
    }
    case option_kind::choice: {
      auto str = caf::get_if<std::string>(&x);
      if (str != nullptr && spec.choose(*str, out))
        return caf::none;
      return choice_error(spec.info, x, file);
    }
    case option_kind::flag: {
      auto flag = caf::get_if<bool>(&x);
      if (flag == nullptr)
        return value_error(spec.info.name, caf::to_string(x),
                           "expected true or false", file);
      out.*spec.flag_field = *flag;
      return caf::none;
    }
  }
  return value_error(spec.info.name, caf::to_string(x), "unknown option kind",
                     file);
}

/// Reads the `[supercache]` keys of `xs` that `table` declares into `out`
/// and checks that every other key is declared on `cfg`; `file` names the
/// origin of `xs` or is `nullptr`.
template <class Options, size_t N>
caf::error read_section(const option_spec<Options> (&table)[N],
                        const caf::actor_system_config& cfg,
                        const caf::settings& xs, Options& out,
                        const std::string* file) {
  const caf::settings* section = nullptr;
  if (auto err = find_section(xs, section, file))
    return err;
  if (section == nullptr)
    return caf::none;
  for (auto& kvp : *section) {
    auto err = [&] {
      if (auto spec = find_spec(table, kvp.first))
        return read_value(*spec, kvp.second, out, file);
      return check_declared(cfg, kvp.first, file);
    }();
    if (err)
      return err;
  }
  return caf::none;
}

/// Reads the options of `table` from `cfg`: checks the raw `[supercache]`
/// section of its config file, then reads the effective values (file,
/// command line and `cfg.set`) over the defaults of `Options` and returns
/// them if `Options::validate` accepts them.
template <class Options, size_t N>
caf::expected<Options> read_options(const option_spec<Options> (&table)[N],
                                    const caf::actor_system_config& cfg) {
  caf::settings raw;
  if (auto err = read_config_file(cfg, raw))
    return err;
  Options ignored;
  if (auto err = read_section(table, cfg, raw, ignored,
                              &cfg.config_file_path))
    return err;
  Options result;
  if (auto err = read_section(table, cfg, cfg.content, result, nullptr))
    return err;
  if (auto err = result.validate())
    return err;
  return result;
}

} // namespace supercache::detail
