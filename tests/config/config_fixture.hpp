#pragma once

/// Helpers of the config tests: configs that declare the library's options
/// (as `supercache::configure` does) or the node's too (as `supercache-node`
/// does), temporary config files, loading options from them, captured
/// `--long-help` output and checks of `invalid_option` errors.

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include <caf/actor_system_config.hpp>
#include <caf/config_option_set.hpp>
#include <caf/settings.hpp>

#include <doctest/doctest.h>

#include <supercache/errc.hpp>
#include <supercache/options.hpp>

#include "config/node_options.hpp"

namespace supercache::testing {

namespace fs = std::filesystem;

using string_list = std::vector<std::string>;

/// Which options a config declares.
enum class option_set {
  /// The library's, as in a program that calls `supercache::configure`.
  library,
  /// The library's and the node's, as in `supercache-node`.
  node,
};

/// A config with the options of `which`, exposing them to the tests.
struct options_config : caf::actor_system_config {
  explicit options_config(option_set which = option_set::library) {
    supercache::declare_options(*this);
    if (which == option_set::node)
      supercache::node::declare_options(*this);
  }

  const caf::config_option_set& declared() const {
    return custom_options_;
  }

  /// Returns the long names of the declared `[supercache]` options in
  /// declaration order.
  string_list supercache_names() const {
    string_list result;
    for (auto& opt : declared())
      if (opt.category() == "supercache")
        result.emplace_back(opt.long_name().begin(), opt.long_name().end());
    return result;
  }
};

/// A fresh directory for config files, removed at the end of the test.
struct temp_dir {
  temp_dir() {
    static std::atomic<int> counter{0};
    auto stamp = std::chrono::steady_clock::now().time_since_epoch().count();
    path = fs::temp_directory_path()
           / ("supercache_options_test_" + std::to_string(stamp) + "_"
              + std::to_string(std::random_device{}()) + "_"
              + std::to_string(counter++));
    fs::create_directories(path);
  }

  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }

  /// Writes `text` to the file `name` in this directory; returns its path.
  std::string write(const std::string& name, const std::string& text) const {
    auto file = (path / name).string();
    std::ofstream out{file};
    out << text;
    return file;
  }

  fs::path path;
};

/// Redirects `std::cout` into a string while alive.
struct capture_cout {
  capture_cout() : old(std::cout.rdbuf(buf.rdbuf())) {
    // nop
  }

  ~capture_cout() {
    std::cout.rdbuf(old);
  }

  std::ostringstream buf;
  std::streambuf* old;
};

/// Parses `args` with `cfg` (which must print help) and returns what it
/// printed on stdout.
inline std::string help_text(caf::actor_system_config& cfg,
                             string_list args = {"--long-help"}) {
  capture_cout capture;
  auto err = cfg.parse(std::move(args));
  REQUIRE_MESSAGE(!err, caf::actor_system_config::render(err));
  REQUIRE(cfg.cli_helptext_printed);
  return capture.buf.str();
}

/// Writes `text` as config file, parses it with `args` in a config that
/// declares the options of `Options` (the node's config for
/// `node::options`) and reads them. Fails the test if CAF's parse fails.
template <class Options = supercache::options>
caf::expected<Options> load(const std::string& text, string_list args = {}) {
  temp_dir dir;
  auto file = dir.write("test.conf", text);
  options_config cfg{std::is_same_v<Options, supercache::node::options>
                       ? option_set::node
                       : option_set::library};
  auto err = cfg.parse(std::move(args), file.c_str());
  REQUIRE_MESSAGE(!err, caf::actor_system_config::render(err));
  return Options::from(cfg);
}

/// Returns the rendered error of `x`, or "ok" if `x` holds a value.
template <class T>
std::string rendered(const caf::expected<T>& x) {
  return x ? std::string{"ok"} : supercache::render(x.error());
}

/// Checks that `x` is `invalid_option` and its text contains all `parts`.
template <class T>
void check_invalid(const caf::expected<T>& x, const string_list& parts) {
  REQUIRE_MESSAGE(!x, "expected an error");
  CHECK(x.error() == supercache::errc::invalid_option);
  auto text = rendered(x);
  for (auto& part : parts)
    CHECK_MESSAGE(text.find(part) != std::string::npos,
                  "'" << part << "' not in: " << text);
}

/// A config line that must be rejected, with the key and value the error
/// must name.
struct bad_case {
  const char* line;
  const char* key;
  const char* value;
};

/// Loads each line of `cases` alone in `[supercache]` as `Options` and
/// checks that it is `invalid_option` naming its key and value.
template <class Options = supercache::options>
void check_bad_lines(std::initializer_list<bad_case> cases) {
  for (auto& c : cases) {
    CAPTURE(c.line);
    auto res = load<Options>(std::string{"[supercache]\n"} + c.line + "\n");
    REQUIRE_FALSE(res);
    CHECK_EQ(res.error(), supercache::errc::invalid_option);
    auto text = rendered(res);
    CHECK_MESSAGE(text.find(c.key) != std::string::npos, text);
    CHECK_MESSAGE(text.find(c.value) != std::string::npos, text);
  }
}

/// The library's option names in declaration order.
inline const string_list library_option_names{
  "buffers", "partitions", "key-pos", "partition-pos", "table-type",
  "max-pending", "overflow", "block-timeout", "remote", "replicas",
  "connect-timeout",
  "call-timeout", "allow-insecure", "ttl", "max-records"};

/// The node's own option names in declaration order.
inline const string_list node_option_names{"role", "host", "port", "input"};

} // namespace supercache::testing
