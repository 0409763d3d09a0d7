#include "config/option_table.hpp"

#include <filesystem>
#include <fstream>
#include <system_error>
#include <utility>

#include <caf/config_option_adder.hpp>
#include <caf/deep_to_string.hpp>
#include <caf/pec.hpp>

#include <supercache/errc.hpp>
#include <supercache/options.hpp>

#include "config/node_options.hpp"
#include "core/names.hpp"

// What CAF 0.17.6 does with a config file, and what `read_options` adds:
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
// So `read_options` re-reads the file named by `config_file_path` without
// type checks and validates its raw `[supercache]` section, then validates
// the effective values in `cfg.content` (file plus command line plus
// `cfg.set`). A missing file is an error unless its path is one of the
// default names (`caf-application.ini`, CAF's default, or
// `caf-application.conf`, ours) and was not named with `--config-file`: a
// program may pass a default name that the user never asked for.
//
// A key is checked against the options declared on the config, not against
// one table: the node declares the library's options and its own, and each
// of its two readers (`options::from`, `node::options::from`) accepts the
// other's keys. A program that calls only `supercache::configure` has no node
// options, so `role` in its config file is an unknown key; the error says
// that it is an option of `supercache-node`.

namespace supercache::detail {

namespace {

constexpr const char* default_config_files[] = {
  "caf-application.ini",
  "caf-application.conf",
};

/// Reaches the protected `custom_options_` of any config legally.
struct config_access : caf::actor_system_config {
  static auto custom_options() {
    return &config_access::custom_options_;
  }
};

std::string full_name(caf::string_view name) {
  std::string result = option_section;
  result += '.';
  result.append(name.begin(), name.end());
  return result;
}

std::string in_file(const std::string* file) {
  if (file == nullptr)
    return {};
  return " (in " + *file + ")";
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

} // namespace

// -- declaring ----------------------------------------------------------------

const caf::config_option_set&
declared_options(const caf::actor_system_config& cfg) {
  return cfg.*config_access::custom_options();
}

void declare_option(caf::actor_system_config& cfg, const option_info& spec) {
  auto& opts = cfg.*config_access::custom_options();
  if (opts.qualified_name_lookup(option_section, spec.name) != nullptr)
    return; // Declared by an earlier call.
  caf::config_option_adder adder{opts, option_section};
  switch (spec.kind) {
    case option_kind::count:
    case option_kind::position:
    case option_kind::limit:
    case option_kind::port:
      adder.add<size_t>(spec.name, spec.description);
      break;
    case option_kind::duration:
    case option_kind::lifetime:
      adder.add<caf::timespan>(spec.name, spec.description);
      break;
    case option_kind::text:
    case option_kind::endpoint:
    case option_kind::choice:
      adder.add<std::string>(spec.name, spec.description);
      break;
    case option_kind::flag:
      adder.add<bool>(spec.name, spec.description);
      break;
  }
}

// -- error messages -----------------------------------------------------------

caf::error value_error(const char* name, const std::string& value,
                       const std::string& what, const std::string* file) {
  return make_error(errc::invalid_option, full_name(name) + " = " + value
                                            + ": " + what + in_file(file));
}

std::string count_range(const char* name_prefix) {
  std::string result = "must be 1..";
  result += std::to_string(max_registered_id);
  result += " (names ";
  result += name_prefix;
  result += "1..";
  result += name_prefix;
  result += std::to_string(max_registered_id);
  result += ')';
  return result;
}

caf::error choice_error(const option_info& spec, const caf::config_value& x,
                        const std::string* file) {
  return value_error(spec.name, caf::to_string(x),
                     std::string{"expected "} + spec.choices, file);
}

caf::error check_declared(const caf::actor_system_config& cfg,
                          const std::string& key, const std::string* file) {
  if (declared_options(cfg).qualified_name_lookup(option_section, key)
      != nullptr)
    return caf::none; // Another table's option.
  auto what = "unknown key '" + full_name(key) + "'";
  if (file != nullptr)
    what += " in " + *file;
  if (node::is_option(key))
    what += ": an option of supercache-node, which this program is not (the "
            "library does not read it)";
  return make_error(errc::invalid_option, std::move(what));
}

// -- reading values -----------------------------------------------------------

caf::expected<size_t> read_size(const option_info& spec,
                                const caf::config_value& x,
                                const std::string* file) {
  auto value = [&] { return caf::to_string(x); };
  auto i = caf::get_if<caf::config_value::integer>(&x);
  switch (spec.kind) {
    case option_kind::count:
      if (i == nullptr || *i < 0)
        return value_error(spec.name, value(), "expected a positive integer",
                           file);
      if (*i == 0)
        return value_error(spec.name, value(),
                           "must be 1.."
                             + std::to_string(max_registered_id)
                             + "; omit the key for one per scheduler worker",
                           file);
      if (static_cast<uint64_t>(*i) > max_registered_id)
        return value_error(spec.name, value(), count_range(spec.name_prefix),
                           file);
      break;
    case option_kind::position:
      if (i == nullptr || *i < 0)
        return value_error(spec.name, value(),
                           "expected a non-negative integer", file);
      break;
    case option_kind::limit:
      if (i == nullptr || *i < 1)
        return value_error(spec.name, value(), "expected a positive integer",
                           file);
      break;
    case option_kind::port:
      if (i == nullptr || *i < 0 || *i > 65535)
        return value_error(spec.name, value(), "expected a port, 0..65535",
                           file);
      break;
    default:
      return value_error(spec.name, value(), "not an integer option", file);
  }
  return static_cast<size_t>(*i);
}

caf::error check_lifetime(const char* name, caf::timespan x,
                          const std::string* file) {
  using namespace std::chrono;
  if (x >= milliseconds(1) && x <= milliseconds(INT32_MAX))
    return caf::none;
  return value_error(name, caf::deep_to_string(x),
                     "must be 1ms..596h (millisecond resolution); omit the "
                     "key for none",
                     file);
}

caf::expected<caf::timespan> read_duration(const option_info& spec,
                                           const caf::config_value& x,
                                           const std::string* file) {
  auto span = caf::get_if<caf::timespan>(&x);
  if (span == nullptr || span->count() < 0)
    return value_error(spec.name, caf::to_string(x),
                       "expected a duration such as 500ms or 2s", file);
  if (spec.kind == option_kind::lifetime)
    if (auto err = check_lifetime(spec.name, *span, file))
      return err;
  return *span;
}

caf::expected<std::string> read_text(const option_info& spec,
                                     const caf::config_value& x,
                                     const std::string* file) {
  auto str = caf::get_if<std::string>(&x);
  if (spec.kind == option_kind::endpoint) {
    if (str == nullptr)
      return value_error(spec.name, caf::to_string(x),
                         "expected \"HOST:PORT\" in quotes", file);
    if (!str->empty())
      if (auto eps = parse_endpoints(*str); !eps)
        return value_error(spec.name, caf::to_string(x),
                           "expected HOST:PORT (or HOST:PORT,HOST:PORT,... "
                           "for a cluster) with ports of 1..65535, each "
                           "listed once",
                           file);
    return *str;
  }
  if (str == nullptr)
    return value_error(spec.name, caf::to_string(x),
                       "expected a string in quotes", file);
  return *str;
}

// -- reading the config file --------------------------------------------------

caf::error find_section(const caf::settings& xs, const caf::settings*& out,
                        const std::string* file) {
  out = nullptr;
  auto i = xs.find(option_section);
  if (i == xs.end())
    return caf::none;
  out = caf::get_if<caf::settings>(&i->second);
  if (out == nullptr)
    return make_error(errc::invalid_option,
                      std::string{option_section} + " = "
                        + caf::to_string(i->second) + ": expected a section"
                        + in_file(file));
  return caf::none;
}

caf::error read_config_file(const caf::actor_system_config& cfg,
                            caf::settings& out) {
  out.clear();
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
  out = std::move(*raw);
  return caf::none;
}

} // namespace supercache::detail
