#include <supercache/options.hpp>

#include <filesystem>
#include <fstream>
#include <system_error>
#include <utility>

#include <caf/config_option_adder.hpp>
#include <caf/config_option_set.hpp>
#include <caf/config_value.hpp>
#include <caf/deep_to_string.hpp>
#include <caf/pec.hpp>
#include <caf/sec.hpp>
#include <caf/settings.hpp>

#include <supercache/errc.hpp>
#include "core/names.hpp"

// What CAF 0.17.6 does with a config file, and what `options::from` adds:
//
// - `cfg.parse(argc, argv, path)` sets `cfg.config_file_path = path` and
//   silently ignores a missing file; `--config-file=path` also sets
//   `config_file_path` (and `content["config-file"]`) and makes `parse` fail
//   with `sec::cannot_open_file` if the file is missing. Without either,
//   `config_file_path` is `caf-application.ini`.
// - Unknown keys stay in `cfg.content`; values of the wrong type for a
//   declared option (`buffers="four"`, `buffers=-3`, `table-type=3`,
//   `table-type='bag'`, which is an atom) are dropped without an error.
// - INI syntax errors and all command-line errors make `parse` fail.
//
// So `from` re-reads the file named by `config_file_path` without type
// checks and validates its raw `[supercache]` section, then validates the
// effective values in `cfg.content` (file plus command line plus `cfg.set`).
// A missing file is an error unless its path is one of the default names
// (`caf-application.ini`, CAF's default, or `caf-application.conf`, ours)
// and was not named with `--config-file`: a program may pass a default name
// that the user never asked for.

namespace supercache {

namespace {

// -- the option table ---------------------------------------------------------

/// What values an option takes.
enum class option_kind {
  /// Number of numbered actors: absent (auto) or 1..`max_registered_id`.
  count,
  /// Position in a record: any non-negative integer.
  position,
  /// A `table_type` as the string "set" or "bag".
  table,
  /// A limit: an integer of at least 1.
  limit,
  /// An `overflow_policy` as "block", "reject" or "drop-oldest".
  overflow,
  /// A duration such as `500ms` (CAF timespan syntax).
  duration,
  /// A `node_role` as "standalone", "cache" or "producer".
  role,
  /// Any string.
  text,
  /// A TCP port, 0..65535.
  port,
  /// A `HOST:PORT` string, or empty.
  endpoint,
};

/// One `[supercache]` option: the single place where it is declared.
struct option_spec {
  /// Key inside `[supercache]`, e.g. `buffers`.
  const char* name;
  /// Text shown by `--long-help`.
  const char* description;
  /// What values the option takes.
  option_kind kind;
  /// Field of `options` for `count`, `position` and `limit`, else `nullptr`.
  size_t options::*field;
  /// Prefix of the registered names for `count`, e.g. `buffer_`.
  const char* name_prefix;
  /// Field of `options` for `duration`, else `nullptr`.
  caf::timespan options::*duration_field = nullptr;
  /// Field of `options` for `text` and `endpoint`, else `nullptr`.
  std::string options::*text_field = nullptr;
};

constexpr const char* section = "supercache";

constexpr option_spec option_specs[] = {
  {"buffers",
   "number of buffer actors buffer_1..buffer_N, 1..999; "
   "omit for one per scheduler worker",
   option_kind::count, &options::buffers, "buffer_"},
  {"partitions",
   "number of cache partitions cache_1..cache_P, 1..999; "
   "omit for one per scheduler worker",
   option_kind::count, &options::partitions, "cache_"},
  {"key-pos", "position of the key element in a record (0-based)",
   option_kind::position, &options::key_pos, nullptr},
  {"partition-pos",
   "position of the element that picks the partition of a record (0-based)",
   option_kind::position, &options::partition_pos, nullptr},
  {"table-type",
   "\"set\" (last write of a key wins) or \"bag\" (distinct records per key)",
   option_kind::table, nullptr, nullptr},
  {"max-pending",
   "records a buffer may hold (accepted, not yet stored in the cache) "
   "before the overflow policy applies, at least 1 (default 100000)",
   option_kind::limit, &options::max_pending, nullptr},
  {"overflow",
   "what lazy_put does at max-pending: \"block\" (wait up to block-timeout, "
   "then overloaded), \"reject\" (overloaded at once) or \"drop-oldest\" "
   "(accept; the oldest pending record is dropped and counted)",
   option_kind::overflow, nullptr, nullptr},
  {"block-timeout",
   "how long a blocked lazy_put waits for room, e.g. 500ms (default 1s)",
   option_kind::duration, nullptr, nullptr, &options::block_timeout},
  {"role",
   "what supercache-node runs: \"standalone\" (default), \"cache\" "
   "(publish the partitions on host:port) or \"producer\" (stream to the "
   "cache node at remote)",
   option_kind::role, nullptr, nullptr},
  {"host", "interface a cache node listens on (default \"127.0.0.1\")",
   option_kind::text, nullptr, nullptr, nullptr, &options::host},
  {"port", "port a cache node listens on, 0..65535; 0 picks a free one",
   option_kind::port, &options::port, nullptr},
  {"remote", "the cache node a producer streams to, \"HOST:PORT\"",
   option_kind::endpoint, nullptr, nullptr, nullptr, &options::remote},
  {"input",
   "NDJSON records (one JSON array per line) for the node to ingest: a "
   "path, \"-\" for stdin; default: the sample in examples/data/",
   option_kind::text, nullptr, nullptr, nullptr, &options::input},
  {"connect-timeout",
   "how long a producer waits for the cache node to answer (default 5s)",
   option_kind::duration, nullptr, nullptr, &options::connect_timeout},
  {"call-timeout",
   "how long a blocking call (start, stop, flush, put, stats) waits before "
   "it fails with timeout, e.g. 30s (default 30s)",
   option_kind::duration, nullptr, nullptr, &options::call_timeout},
};

constexpr const char* default_config_files[] = {
  "caf-application.ini",
  "caf-application.conf",
};

const option_spec* find_spec(caf::string_view name) {
  for (auto& spec : option_specs)
    if (name == spec.name)
      return &spec;
  return nullptr;
}

/// Reaches the protected `custom_options_` of any config legally.
struct config_access : caf::actor_system_config {
  static auto custom_options() {
    return &config_access::custom_options_;
  }
};

// -- error messages -----------------------------------------------------------

std::string full_name(const option_spec& spec) {
  std::string result = section;
  result += '.';
  result += spec.name;
  return result;
}

std::string in_file(const std::string* file) {
  if (file == nullptr)
    return {};
  return " (in " + *file + ")";
}

caf::error value_error(const option_spec& spec, const std::string& value,
                       const std::string& what, const std::string* file) {
  return make_error(errc::invalid_option, full_name(spec) + " = " + value
                                            + ": " + what + in_file(file));
}

std::string count_range(const option_spec& spec) {
  std::string result = "must be 1..";
  result += std::to_string(max_registered_id);
  result += " (names ";
  result += spec.name_prefix;
  result += "1..";
  result += spec.name_prefix;
  result += std::to_string(max_registered_id);
  result += ')';
  return result;
}

// -- reading values -----------------------------------------------------------

/// Checks `x` as value of `spec` as it appears in a file or in `cfg.content`
/// (present, hence explicit) and stores it in `out` on success.
caf::error read(const option_spec& spec, const caf::config_value& x,
                options& out, const std::string* file) {
  auto value = [&] { return caf::to_string(x); };
  switch (spec.kind) {
    case option_kind::count: {
      auto i = caf::get_if<caf::config_value::integer>(&x);
      if (i == nullptr || *i < 0)
        return value_error(spec, value(), "expected a positive integer", file);
      if (*i == 0)
        return value_error(spec, value(),
                           "must be 1.."
                             + std::to_string(max_registered_id)
                             + "; omit the key for one per scheduler worker",
                           file);
      if (static_cast<uint64_t>(*i) > max_registered_id)
        return value_error(spec, value(), count_range(spec), file);
      out.*spec.field = static_cast<size_t>(*i);
      return caf::none;
    }
    case option_kind::position: {
      auto i = caf::get_if<caf::config_value::integer>(&x);
      if (i == nullptr || *i < 0)
        return value_error(spec, value(), "expected a non-negative integer",
                           file);
      out.*spec.field = static_cast<size_t>(*i);
      return caf::none;
    }
    case option_kind::limit: {
      auto i = caf::get_if<caf::config_value::integer>(&x);
      if (i == nullptr || *i < 1)
        return value_error(spec, value(), "expected a positive integer", file);
      out.*spec.field = static_cast<size_t>(*i);
      return caf::none;
    }
    case option_kind::overflow: {
      auto str = caf::get_if<std::string>(&x);
      if (str != nullptr)
        if (auto policy = overflow_policy_from(*str)) {
          out.overflow = *policy;
          return caf::none;
        }
      return value_error(spec, value(),
                         "expected \"block\", \"reject\" or \"drop-oldest\"",
                         file);
    }
    case option_kind::duration: {
      auto span = caf::get_if<caf::timespan>(&x);
      if (span == nullptr || span->count() < 0)
        return value_error(spec, value(),
                           "expected a duration such as 500ms or 2s", file);
      out.*spec.duration_field = *span;
      return caf::none;
    }
    case option_kind::role: {
      auto str = caf::get_if<std::string>(&x);
      if (str != nullptr)
        for (auto role : {node_role::standalone, node_role::cache,
                          node_role::producer})
          if (*str == to_string(role)) {
            out.role = role;
            return caf::none;
          }
      return value_error(spec, value(),
                         "expected \"standalone\", \"cache\" or "
                         "\"producer\"",
                         file);
    }
    case option_kind::text: {
      auto str = caf::get_if<std::string>(&x);
      if (str == nullptr)
        return value_error(spec, value(), "expected a string in quotes",
                           file);
      out.*spec.text_field = *str;
      return caf::none;
    }
    case option_kind::port: {
      auto i = caf::get_if<caf::config_value::integer>(&x);
      if (i == nullptr || *i < 0 || *i > 65535)
        return value_error(spec, value(), "expected a port, 0..65535", file);
      out.*spec.field = static_cast<size_t>(*i);
      return caf::none;
    }
    case option_kind::endpoint: {
      auto str = caf::get_if<std::string>(&x);
      if (str == nullptr)
        return value_error(spec, value(),
                           "expected \"HOST:PORT\" in quotes", file);
      if (!str->empty())
        if (auto ep = parse_endpoint(*str); !ep)
          return value_error(spec, value(), "expected HOST:PORT with a port "
                                            "of 1..65535", file);
      out.*spec.text_field = *str;
      return caf::none;
    }
    case option_kind::table: {
      auto str = caf::get_if<std::string>(&x);
      if (str != nullptr && *str == "set") {
        out.type = table_type::set;
        return caf::none;
      }
      if (str != nullptr && *str == "bag") {
        out.type = table_type::bag;
        return caf::none;
      }
      return value_error(spec, value(), "expected \"set\" or \"bag\"", file);
    }
  }
  return value_error(spec, value(), "unknown option kind", file);
}

/// Checks every key and value of the `supercache` entry of `xs` and stores
/// the values in `out`; `file` names the origin of `xs` or is `nullptr`.
caf::error read_section(const caf::settings& xs, options& out,
                        const std::string* file) {
  auto i = xs.find(section);
  if (i == xs.end())
    return caf::none;
  auto dict = caf::get_if<caf::settings>(&i->second);
  if (dict == nullptr)
    return make_error(errc::invalid_option,
                      std::string{section} + " = " + caf::to_string(i->second)
                        + ": expected a section" + in_file(file));
  for (auto& kvp : *dict) {
    auto spec = find_spec(kvp.first);
    if (spec == nullptr) {
      auto what = "unknown key '" + std::string{section} + '.' + kvp.first
                  + "'";
      if (file != nullptr)
        what += " in " + *file;
      return make_error(errc::invalid_option, std::move(what));
    }
    if (auto err = read(*spec, kvp.second, out, file))
      return err;
  }
  return caf::none;
}

/// Renders a parser error of CAF, e.g. `unexpected_newline at line 2,
/// column 1`.
std::string render_parse_error(const caf::error& err) {
  if (err.category() != caf::atom("parser")
      || !err.context().match_elements<caf::settings>())
    return caf::actor_system_config::render(err);
  auto& pos = err.context().get_as<caf::settings>(0);
  std::string result = caf::to_string(static_cast<caf::pec>(err.code()));
  if (auto line = caf::get_if<caf::config_value::integer>(&pos, "line"))
    result += " at line " + std::to_string(*line);
  if (auto col = caf::get_if<caf::config_value::integer>(&pos, "column"))
    result += ", column " + std::to_string(*col);
  return result;
}

bool is_default_config_file(const caf::actor_system_config& cfg) {
  if (caf::get_if<std::string>(&cfg.content, "config-file"))
    return false; // The user named it with --config-file.
  for (auto name : default_config_files)
    if (cfg.config_file_path == name)
      return true;
  return false;
}

/// Validates the raw `[supercache]` section of the config file of `cfg`.
caf::error check_config_file(const caf::actor_system_config& cfg) {
  auto& path = cfg.config_file_path;
  if (path.empty())
    return caf::none;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    if (is_default_config_file(cfg))
      return caf::none;
    return make_error(errc::invalid_option,
                      "config file '" + path + "' not found");
  }
  if (std::filesystem::is_directory(path, ec) || !std::ifstream{path})
    return make_error(errc::invalid_option,
                      "config file '" + path + "' is not a readable file");
  auto raw = caf::actor_system_config::parse_config_file(path.c_str());
  if (!raw)
    return make_error(errc::invalid_option,
                      "config file '" + path + "' is not valid INI: "
                        + render_parse_error(raw.error()));
  options ignored;
  return read_section(*raw, ignored, &path);
}

} // namespace

// -- free functions -----------------------------------------------------------

const char* to_string(overflow_policy x) {
  switch (x) {
    case overflow_policy::block:
      return "block";
    case overflow_policy::reject:
      return "reject";
    case overflow_policy::drop_oldest:
      return "drop-oldest";
  }
  return "invalid";
}

std::optional<overflow_policy> overflow_policy_from(const std::string& x) {
  for (auto policy : {overflow_policy::block, overflow_policy::reject,
                      overflow_policy::drop_oldest})
    if (x == to_string(policy))
      return policy;
  return std::nullopt;
}

const char* to_string(node_role x) {
  switch (x) {
    case node_role::standalone:
      return "standalone";
    case node_role::cache:
      return "cache";
    case node_role::producer:
      return "producer";
  }
  return "invalid";
}

caf::expected<endpoint> parse_endpoint(const std::string& x) {
  auto bad = [&] {
    return make_error(errc::invalid_option,
                      "remote = \"" + x + "\": expected HOST:PORT with a "
                                          "port of 1..65535");
  };
  auto colon = x.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == x.size())
    return bad();
  auto digits = x.substr(colon + 1);
  if (digits.size() > 5
      || digits.find_first_not_of("0123456789") != std::string::npos)
    return bad();
  auto port = std::stoul(digits);
  if (port == 0 || port > 65535)
    return bad();
  auto host = x.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2); // [::1]:4000
  return endpoint{std::move(host), static_cast<uint16_t>(port)};
}

const char* to_string(table_type x) {
  switch (x) {
    case table_type::set:
      return "set";
    case table_type::bag:
      return "bag";
  }
  return "invalid";
}

void declare_options(caf::actor_system_config& cfg) {
  auto& opts = cfg.*config_access::custom_options();
  caf::config_option_adder adder{opts, section};
  for (auto& spec : option_specs) {
    if (opts.qualified_name_lookup(section, spec.name) != nullptr)
      continue; // Declared by an earlier call.
    switch (spec.kind) {
      case option_kind::table:
      case option_kind::overflow:
      case option_kind::role:
      case option_kind::text:
      case option_kind::endpoint:
        adder.add<std::string>(spec.name, spec.description);
        break;
      case option_kind::duration:
        adder.add<caf::timespan>(spec.name, spec.description);
        break;
      default:
        adder.add<size_t>(spec.name, spec.description);
    }
  }
}

// -- options ------------------------------------------------------------------

caf::expected<options> options::from(const caf::actor_system_config& cfg) {
  if (auto err = check_config_file(cfg))
    return err;
  options result;
  if (auto err = read_section(cfg.content, result, nullptr))
    return err;
  if (auto err = result.validate())
    return err;
  return result;
}

caf::error options::validate() const {
  auto check_count = [](const char* name, size_t value) -> caf::error {
    if (value <= max_registered_id)
      return caf::none;
    auto& spec = *find_spec(name);
    return value_error(spec, std::to_string(value),
                       count_range(spec) + ", or 0 for one per scheduler "
                                           "worker",
                       nullptr);
  };
  if (auto err = check_count("buffers", buffers))
    return err;
  if (auto err = check_count("partitions", partitions))
    return err;
  if (max_pending == 0)
    return value_error(*find_spec("max-pending"), "0", "must be at least 1",
                       nullptr);
  if (block_timeout.count() < 0)
    return value_error(*find_spec("block-timeout"),
                       caf::deep_to_string(block_timeout),
                       "must not be negative", nullptr);
  if (port > 65535)
    return value_error(*find_spec("port"), std::to_string(port),
                       "expected a port, 0..65535", nullptr);
  if (!remote.empty())
    if (auto ep = parse_endpoint(remote); !ep)
      return ep.error();
  if (connect_timeout.count() <= 0)
    return value_error(*find_spec("connect-timeout"),
                       caf::deep_to_string(connect_timeout),
                       "must be positive", nullptr);
  if (call_timeout.count() <= 0)
    return value_error(*find_spec("call-timeout"),
                       caf::deep_to_string(call_timeout),
                       "must be positive", nullptr);
  if (type != table_type::set && type != table_type::bag)
    return value_error(*find_spec("table-type"),
                       std::to_string(static_cast<int>(type)),
                       "expected set or bag", nullptr);
  return caf::none;
}

} // namespace supercache
