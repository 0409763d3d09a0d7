// Tests for config/options: reading, declaring and validating the
// `[supercache]` options of a CAF 0.17 config (INI file plus command line).

#include <supercache/options.hpp>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <caf/actor_system_config.hpp>
#include <caf/config_option_set.hpp>
#include <caf/settings.hpp>
#include <caf/timestamp.hpp>

#include <doctest/doctest.h>

#include <supercache/errc.hpp>

namespace {

namespace fs = std::filesystem;

using string_list = std::vector<std::string>;

/// A config that exposes its declared options to the tests.
struct test_config : caf::actor_system_config {
  test_config() {
    supercache::declare_options(*this);
  }

  const caf::config_option_set& declared() const {
    return custom_options_;
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

/// Writes `text` as config file, parses it with `args` and reads the options.
/// Fails the test if CAF's own parse fails.
caf::expected<supercache::options> load(const std::string& text,
                                        string_list args = {}) {
  temp_dir dir;
  auto file = dir.write("test.conf", text);
  test_config cfg;
  auto err = cfg.parse(std::move(args), file.c_str());
  REQUIRE_MESSAGE(!err, caf::actor_system_config::render(err));
  return supercache::options::from(cfg);
}

/// Returns the rendered error of `x`, or "ok" if `x` holds a value.
std::string rendered(const caf::expected<supercache::options>& x) {
  return x ? std::string{"ok"} : supercache::render(x.error());
}

/// Checks that `x` is `invalid_option` and its text contains all `parts`.
void check_invalid(const caf::expected<supercache::options>& x,
                   const string_list& parts) {
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

/// Loads each line of `cases` alone in `[supercache]` and checks that it is
/// `invalid_option` naming its key and value.
void check_bad_lines(std::initializer_list<bad_case> cases) {
  for (auto& c : cases) {
    CAPTURE(c.line);
    auto res = load(std::string{"[supercache]\n"} + c.line + "\n");
    REQUIRE_FALSE(res);
    CHECK_EQ(res.error(), supercache::errc::invalid_option);
    auto text = rendered(res);
    CHECK_MESSAGE(text.find(c.key) != std::string::npos, text);
    CHECK_MESSAGE(text.find(c.value) != std::string::npos, text);
  }
}

} // namespace

// -- defaults and valid values ------------------------------------------------

TEST_CASE("without a [supercache] section every option keeps its default") {
  auto res = load("[scheduler]\nmax-threads=2\n");
  REQUIRE_MESSAGE(res, rendered(res));
  CHECK_EQ(res->buffers, 0u);
  CHECK_EQ(res->partitions, 0u);
  CHECK_EQ(res->key_pos, 0u);
  CHECK_EQ(res->partition_pos, 0u);
  CHECK_EQ(res->type, supercache::table_type::set);
}

TEST_CASE("a valid file sets every option") {
  auto res = load("[supercache]\n"
                  "buffers=4 ; trailing comments are fine\n"
                  "partitions=999\n"
                  "key-pos=2\n"
                  "partition-pos=5\n"
                  "table-type=\"bag\"\n"
                  "max-pending=5000\n"
                  "overflow=\"drop-oldest\"\n"
                  "block-timeout=250ms\n");
  REQUIRE_MESSAGE(res, rendered(res));
  CHECK_EQ(res->buffers, 4u);
  CHECK_EQ(res->partitions, 999u);
  CHECK_EQ(res->key_pos, 2u);
  CHECK_EQ(res->partition_pos, 5u);
  CHECK_EQ(res->type, supercache::table_type::bag);
  CHECK_EQ(res->max_pending, 5000u);
  CHECK_EQ(res->overflow, supercache::overflow_policy::drop_oldest);
  CHECK_EQ(res->block_timeout, std::chrono::milliseconds(250));
}

TEST_CASE("a bad max-pending, overflow or block-timeout is invalid_option "
          "naming key and value") {
  check_bad_lines({bad_case{"max-pending=0", "supercache.max-pending", "0"},
                  bad_case{"max-pending=\"many\"", "supercache.max-pending",
                           "many"},
                  bad_case{"overflow=\"bounce\"", "supercache.overflow",
                           "bounce"},
                  bad_case{"overflow=3", "supercache.overflow", "3"},
                  bad_case{"block-timeout=\"soon\"",
                           "supercache.block-timeout", "soon"},
                  bad_case{"block-timeout=5", "supercache.block-timeout",
                           "5"}});
}

TEST_CASE("a command-line value overrides the config file") {
  auto res = load("[supercache]\nbuffers=4\ntable-type=\"bag\"\n",
                  {"--supercache.buffers=7", "--supercache.table-type=set"});
  REQUIRE_MESSAGE(res, rendered(res));
  CHECK_EQ(res->buffers, 7u);
  CHECK_EQ(res->type, supercache::table_type::set);
}

TEST_CASE("a missing default config file means all defaults") {
  // CAF's default name, as in `cfg.parse(argc, argv)`; the tests do not run
  // in a directory that holds such a file.
  REQUIRE_FALSE(fs::exists("caf-application.ini"));
  test_config cfg;
  REQUIRE(!cfg.parse(string_list{}));
  CHECK_EQ(cfg.config_file_path, "caf-application.ini");
  auto res = supercache::options::from(cfg);
  REQUIRE_MESSAGE(res, rendered(res));
  CHECK_EQ(res->buffers, 0u);
}

// -- unknown keys -------------------------------------------------------------

TEST_CASE("an unknown key in [supercache] is invalid_option naming the key") {
  // CAF 0.17 keeps the unknown key in cfg.content without complaint.
  auto res = load("[supercache]\nbufers=4\n");
  check_invalid(res, {"unknown key 'supercache.bufers'", "test.conf"});
}

TEST_CASE("an unknown supercache key in the parsed content is invalid_option") {
  test_config cfg;
  REQUIRE(!cfg.parse(string_list{}));
  caf::put(cfg.content, "supercache.bufers", 4);
  check_invalid(supercache::options::from(cfg),
                {"unknown key 'supercache.bufers'"});
}

TEST_CASE("an unknown supercache option on the command line fails parse") {
  temp_dir dir;
  auto file = dir.write("test.conf", "");
  test_config cfg;
  auto err = cfg.parse(string_list{"--supercache.bufers=4"}, file.c_str());
  CHECK(err == caf::pec::not_an_option);
}

// -- wrong types --------------------------------------------------------------

TEST_CASE("a string for buffers is invalid_option naming key and value") {
  // CAF 0.17 drops this value silently and keeps the default.
  check_invalid(load("[supercache]\nbuffers=\"four\"\n"),
                {"supercache.buffers = \"four\"", "expected a positive integer",
                 "test.conf"});
}

TEST_CASE("a fraction for partitions is invalid_option naming key and value") {
  check_invalid(load("[supercache]\npartitions=2.5\n"),
                {"supercache.partitions = 2.5", "expected a positive integer"});
}

TEST_CASE("an integer for table-type is invalid_option naming key and value") {
  check_invalid(load("[supercache]\ntable-type=3\n"),
                {"supercache.table-type = 3", "expected \"set\" or \"bag\""});
}

TEST_CASE("a single-quoted table-type is an atom and invalid_option") {
  // 'bag' is an atom in CAF 0.17 INI; CAF drops it for a string option.
  check_invalid(load("[supercache]\ntable-type='bag'\n"),
                {"supercache.table-type = 'bag'",
                 "expected \"set\" or \"bag\""});
}

TEST_CASE("a negative number is invalid_option naming key and value") {
  check_invalid(load("[supercache]\nbuffers=-3\n"),
                {"supercache.buffers = -3", "expected a positive integer"});
  check_invalid(load("[supercache]\nkey-pos=-1\n"),
                {"supercache.key-pos = -1", "expected a non-negative integer"});
}

TEST_CASE("a wrong type on the command line fails parse") {
  temp_dir dir;
  auto file = dir.write("test.conf", "");
  SUBCASE("a word for buffers") {
    test_config cfg;
    auto err = cfg.parse(string_list{"--supercache.buffers=four"},
                         file.c_str());
    CHECK(err == caf::pec::unexpected_character);
  }
  SUBCASE("a negative number for partition-pos") {
    test_config cfg;
    auto err = cfg.parse(string_list{"--supercache.partition-pos=-1"},
                         file.c_str());
    CHECK(err == caf::pec::unexpected_character);
  }
}

// -- ranges -------------------------------------------------------------------

TEST_CASE("buffers above 999 is invalid_option: buffer_1000 is no atom") {
  check_invalid(load("[supercache]\nbuffers=1000\n"),
                {"supercache.buffers = 1000", "1..999", "buffer_999"});
}

TEST_CASE("partitions above 999 is invalid_option: cache_1000 is no atom") {
  check_invalid(load("[supercache]\npartitions=1000\n"),
                {"supercache.partitions = 1000", "1..999", "cache_999"});
}

TEST_CASE("an explicit 0 for buffers or partitions is invalid_option") {
  // Only a missing key means one per scheduler worker.
  SUBCASE("buffers=0 in the file") {
    check_invalid(load("[supercache]\nbuffers=0\n"),
                  {"supercache.buffers = 0", "omit the key"});
  }
  SUBCASE("partitions=0 in the file") {
    check_invalid(load("[supercache]\npartitions=0\n"),
                  {"supercache.partitions = 0", "omit the key"});
  }
  SUBCASE("buffers=0 on the command line") {
    check_invalid(load("", {"--supercache.buffers=0"}),
                  {"supercache.buffers = 0", "omit the key"});
  }
}

TEST_CASE("a file value is checked even if the command line overrides it") {
  check_invalid(load("[supercache]\nbuffers=1000\n",
                     {"--supercache.buffers=4"}),
                {"supercache.buffers = 1000"});
}

TEST_CASE("table-type tree is invalid_option naming key and value") {
  SUBCASE("in the file") {
    check_invalid(load("[supercache]\ntable-type=\"tree\"\n"),
                  {"supercache.table-type = \"tree\"", "\"set\" or \"bag\""});
  }
  SUBCASE("on the command line") {
    check_invalid(load("", {"--supercache.table-type=tree"}),
                  {"supercache.table-type = \"tree\"", "\"set\" or \"bag\""});
  }
}

TEST_CASE("large positions are valid") {
  auto res = load("[supercache]\nkey-pos=1000000\npartition-pos=4096\n");
  REQUIRE_MESSAGE(res, rendered(res));
  CHECK_EQ(res->key_pos, 1000000u);
  CHECK_EQ(res->partition_pos, 4096u);
}

// -- config files -------------------------------------------------------------

TEST_CASE("a missing config file named in parse is invalid_option") {
  // CAF 0.17 ignores it silently: parse succeeds with an empty content.
  temp_dir dir;
  auto file = (dir.path / "missing.conf").string();
  test_config cfg;
  REQUIRE(!cfg.parse(string_list{}, file.c_str()));
  CHECK_EQ(cfg.config_file_path, file);
  check_invalid(supercache::options::from(cfg),
                {"config file '" + file + "' not found"});
}

TEST_CASE("a missing config file named with --config-file fails parse") {
  temp_dir dir;
  auto file = (dir.path / "missing.conf").string();
  test_config cfg;
  auto err = cfg.parse(string_list{"--config-file=" + file});
  CHECK(err == caf::sec::cannot_open_file);
  CHECK_EQ(cfg.config_file_path, file);
  check_invalid(supercache::options::from(cfg),
                {"config file '" + file + "' not found"});
}

TEST_CASE("--config-file names the file that is checked") {
  temp_dir dir;
  auto file = dir.write("other.conf", "[supercache]\nbufers=2\n");
  test_config cfg;
  REQUIRE(!cfg.parse(string_list{"--config-file=" + file}));
  CHECK_EQ(cfg.config_file_path, file);
  check_invalid(supercache::options::from(cfg),
                {"unknown key 'supercache.bufers'", "other.conf"});
}

TEST_CASE("an INI syntax error fails parse and from names file and line") {
  temp_dir dir;
  SUBCASE("an unclosed section header") {
    auto file = dir.write("broken.conf", "[supercache\nbuffers=2\n");
    test_config cfg;
    CHECK(cfg.parse(string_list{}, file.c_str())
          == caf::pec::unexpected_newline);
    check_invalid(supercache::options::from(cfg),
                  {"config file '" + file + "' is not valid INI",
                   "line 2, column 1"});
  }
  SUBCASE("an unquoted string") {
    auto file = dir.write("broken.conf", "[supercache]\ntable-type=bag\n");
    test_config cfg;
    CHECK(cfg.parse(string_list{}, file.c_str())
          == caf::pec::unexpected_character);
    check_invalid(supercache::options::from(cfg),
                  {"is not valid INI", "line 2, column 13"});
  }
}

// -- declaration and help -----------------------------------------------------

TEST_CASE("--long-help lists every supercache option with its description") {
  test_config cfg;
  std::string help;
  {
    capture_cout capture;
    REQUIRE(!cfg.parse(string_list{"--long-help"}));
    help = capture.buf.str();
  }
  CHECK(cfg.cli_helptext_printed);
  string_list names;
  for (auto& opt : cfg.declared()) {
    if (opt.category() != "supercache")
      continue;
    names.emplace_back(opt.long_name().begin(), opt.long_name().end());
    auto flag = "--supercache." + names.back() + "=";
    std::string description{opt.description().begin(),
                            opt.description().end()};
    CHECK_FALSE(description.empty());
    auto pos = help.find(flag);
    REQUIRE_MESSAGE(pos != std::string::npos, flag << " not in help");
    auto line = help.substr(pos, help.find('\n', pos) - pos);
    CHECK_MESSAGE(line.find(description) != std::string::npos, line);
  }
  CHECK_EQ(names, string_list{"buffers", "partitions", "key-pos",
                              "partition-pos", "table-type", "max-pending",
                              "overflow", "block-timeout", "role", "host",
                              "port", "remote", "input",
                              "connect-timeout", "call-timeout"});
}

TEST_CASE("declaring the options twice declares each option once") {
  test_config cfg;
  supercache::declare_options(cfg);
  size_t count = 0;
  for (auto& opt : cfg.declared())
    if (opt.category() == "supercache")
      ++count;
  CHECK_EQ(count, 15u);
}

// -- validate and to_string ---------------------------------------------------

TEST_CASE("validate accepts 0 as one per worker and rejects counts over 999") {
  supercache::options opts;
  CHECK(!opts.validate());
  opts.buffers = 999;
  opts.partitions = 999;
  opts.key_pos = 12345;
  CHECK(!opts.validate());
  opts.buffers = 1000;
  auto err = opts.validate();
  CHECK(err == supercache::errc::invalid_option);
  CHECK_NE(supercache::render(err).find("supercache.buffers = 1000"),
           std::string::npos);
  opts.buffers = 1;
  opts.partitions = 1000;
  CHECK_NE(supercache::render(opts.validate()).find("supercache.partitions"),
           std::string::npos);
}

TEST_CASE("to_string names both table types") {
  CHECK_EQ(std::string{to_string(supercache::table_type::set)}, "set");
  CHECK_EQ(std::string{to_string(supercache::table_type::bag)}, "bag");
}

// -- the shipped config file --------------------------------------------------

TEST_CASE("the repository's caf-application.conf is valid and low-latency") {
  test_config cfg;
  auto file = SUPERCACHE_SOURCE_DIR "/caf-application.conf";
  REQUIRE(!cfg.parse(string_list{}, file));
  auto res = supercache::options::from(cfg);
  REQUIRE_MESSAGE(res, rendered(res));
  CHECK_EQ(res->buffers, 0u);
  CHECK_EQ(res->partitions, 0u);
  CHECK_EQ(res->key_pos, 0u);
  CHECK_EQ(res->partition_pos, 0u);
  CHECK_EQ(res->type, supercache::table_type::set);
  using std::chrono::milliseconds;
  CHECK(caf::get_or(cfg, "stream.max-batch-delay", caf::timespan{})
        == milliseconds(1));
  CHECK(caf::get_or(cfg, "stream.credit-round-interval", caf::timespan{})
        == milliseconds(2));
  CHECK(cfg.stream_max_batch_delay == milliseconds(1));
  CHECK(cfg.stream_credit_round_interval == milliseconds(2));
}

// -- node options ---------------------------------------------------------------

TEST_CASE("the node options default to a standalone role on 127.0.0.1 with "
          "a free port") {
  auto res = load("");
  REQUIRE_MESSAGE(res, rendered(res));
  CHECK_EQ(res->role, supercache::node_role::standalone);
  CHECK_EQ(res->host, "127.0.0.1");
  CHECK_EQ(res->port, 0u);
  CHECK_EQ(res->remote, "");
  CHECK_EQ(res->input, "");
  CHECK_EQ(res->connect_timeout, std::chrono::seconds(5));
}

TEST_CASE("the node options are read from the file and the command line") {
  auto res = load("[supercache]\nrole=\"cache\"\nhost=\"0.0.0.0\"\n"
                  "port=4242\ninput=\"-\"\nconnect-timeout=2s\n",
                  {"--supercache.role=\"producer\"",
                   "--supercache.remote=\"cache.example.org:4242\""});
  REQUIRE_MESSAGE(res, rendered(res));
  CHECK_EQ(res->role, supercache::node_role::producer);
  CHECK_EQ(res->host, "0.0.0.0");
  CHECK_EQ(res->port, 4242u);
  CHECK_EQ(res->remote, "cache.example.org:4242");
  CHECK_EQ(res->input, "-");
  CHECK_EQ(res->connect_timeout, std::chrono::seconds(2));
}

TEST_CASE("a bad role, port, remote or connect-timeout is invalid_option "
          "naming key and value") {
  check_bad_lines({bad_case{"role=\"master\"", "supercache.role", "master"},
        bad_case{"role=1", "supercache.role", "1"},
        bad_case{"port=65536", "supercache.port", "65536"},
        bad_case{"port=-1", "supercache.port", "-1"},
        bad_case{"remote=\"cachehost\"", "supercache.remote", "cachehost"},
        bad_case{"remote=\"cachehost:0\"", "supercache.remote", "cachehost:0"},
        bad_case{"remote=\":4000\"", "supercache.remote", ":4000"},
        bad_case{"remote=\"h:99999\"", "supercache.remote", "h:99999"},
        bad_case{"host=5", "supercache.host", "5"},
        bad_case{"connect-timeout=0s", "supercache.connect-timeout", "0"}});
}

TEST_CASE("parse_endpoint splits HOST:PORT and accepts a bracketed IPv6 "
          "host") {
  auto a = supercache::parse_endpoint("127.0.0.1:4000");
  REQUIRE(a);
  CHECK_EQ(a->host, "127.0.0.1");
  CHECK_EQ(a->port, 4000);
  auto b = supercache::parse_endpoint("[::1]:65535");
  REQUIRE(b);
  CHECK_EQ(b->host, "::1");
  CHECK_EQ(b->port, 65535);
  for (auto bad : {"", "host", "host:", "host:x1", "host:123456", ":1"})
    CHECK_FALSE(supercache::parse_endpoint(bad));
}
