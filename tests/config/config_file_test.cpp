// Tests for the config file checks shared by every option table
// (config/option_table.cpp): missing and malformed files, --config-file, and
// the repository's own caf-application.conf.

#include <supercache/options.hpp>

#include <chrono>
#include <string>

#include <caf/actor_system_config.hpp>
#include <caf/pec.hpp>
#include <caf/sec.hpp>
#include <caf/settings.hpp>
#include <caf/timestamp.hpp>

#include <doctest/doctest.h>

#include <supercache/errc.hpp>

#include "tests/config/config_fixture.hpp"

using namespace supercache::testing;

// -- missing files ------------------------------------------------------------

TEST_CASE("a missing default config file means all defaults") {
  // CAF's default name, as in `cfg.parse(argc, argv)`; the tests do not run
  // in a directory that holds such a file.
  REQUIRE_FALSE(fs::exists("caf-application.ini"));
  options_config cfg;
  REQUIRE(!cfg.parse(string_list{}));
  CHECK_EQ(cfg.config_file_path, "caf-application.ini");
  auto res = supercache::options::from(cfg);
  REQUIRE_MESSAGE(res, rendered(res));
  CHECK_EQ(res->buffers, 0u);
}

TEST_CASE("a missing config file named in parse is invalid_option") {
  // CAF 0.17 ignores it silently: parse succeeds with an empty content.
  temp_dir dir;
  auto file = (dir.path / "missing.conf").string();
  options_config cfg;
  REQUIRE(!cfg.parse(string_list{}, file.c_str()));
  CHECK_EQ(cfg.config_file_path, file);
  check_invalid(supercache::options::from(cfg),
                {"config file '" + file + "' not found"});
}

TEST_CASE("a missing config file named with --config-file fails parse") {
  temp_dir dir;
  auto file = (dir.path / "missing.conf").string();
  options_config cfg;
  auto err = cfg.parse(string_list{"--config-file=" + file});
  CHECK(err == caf::sec::cannot_open_file);
  CHECK_EQ(cfg.config_file_path, file);
  check_invalid(supercache::options::from(cfg),
                {"config file '" + file + "' not found"});
}

TEST_CASE("--config-file names the file that is checked") {
  temp_dir dir;
  auto file = dir.write("other.conf", "[supercache]\nbufers=2\n");
  options_config cfg;
  REQUIRE(!cfg.parse(string_list{"--config-file=" + file}));
  CHECK_EQ(cfg.config_file_path, file);
  check_invalid(supercache::options::from(cfg),
                {"unknown key 'supercache.bufers'", "other.conf"});
}

TEST_CASE("an INI syntax error fails parse and from names file and line") {
  temp_dir dir;
  SUBCASE("an unclosed section header") {
    auto file = dir.write("broken.conf", "[supercache\nbuffers=2\n");
    options_config cfg;
    CHECK(cfg.parse(string_list{}, file.c_str())
          == caf::pec::unexpected_newline);
    check_invalid(supercache::options::from(cfg),
                  {"config file '" + file + "' is not valid INI",
                   "line 2, column 1"});
  }
  SUBCASE("an unquoted string") {
    auto file = dir.write("broken.conf", "[supercache]\ntable-type=bag\n");
    options_config cfg;
    CHECK(cfg.parse(string_list{}, file.c_str())
          == caf::pec::unexpected_character);
    check_invalid(supercache::options::from(cfg),
                  {"is not valid INI", "line 2, column 13"});
  }
}

// -- the shipped config file --------------------------------------------------

TEST_CASE("the repository's caf-application.conf is valid and low-latency") {
  options_config cfg;
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

TEST_CASE("the repository's caf-application.conf is valid for supercache-node "
          "and selects the standalone role") {
  options_config cfg{option_set::node};
  auto file = SUPERCACHE_SOURCE_DIR "/caf-application.conf";
  REQUIRE(!cfg.parse(string_list{}, file));
  auto lib = supercache::options::from(cfg);
  REQUIRE_MESSAGE(lib, rendered(lib));
  auto node = supercache::node::options::from(cfg);
  REQUIRE_MESSAGE(node, rendered(node));
  CHECK_EQ(node->role, supercache::node::node_role::standalone);
}

// -- the node's reader --------------------------------------------------------

TEST_CASE("the node's options reader reports a missing or malformed config "
          "file as the library's does") {
  temp_dir dir;
  SUBCASE("a missing file named in parse") {
    auto file = (dir.path / "missing.conf").string();
    options_config cfg{option_set::node};
    REQUIRE(!cfg.parse(string_list{}, file.c_str()));
    check_invalid(supercache::node::options::from(cfg),
                  {"config file '" + file + "' not found"});
  }
  SUBCASE("an INI syntax error") {
    auto file = dir.write("broken.conf", "[supercache\nrole=\"cache\"\n");
    options_config cfg{option_set::node};
    CHECK(cfg.parse(string_list{}, file.c_str())
          == caf::pec::unexpected_newline);
    check_invalid(supercache::node::options::from(cfg),
                  {"config file '" + file + "' is not valid INI",
                   "line 2, column 1"});
  }
  SUBCASE("a supercache entry that is not a section") {
    options_config cfg{option_set::node};
    REQUIRE(!cfg.parse(string_list{}));
    cfg.content["supercache"] = caf::config_value{1};
    check_invalid(supercache::node::options::from(cfg),
                  {"supercache = 1: expected a section"});
    check_invalid(supercache::options::from(cfg),
                  {"supercache = 1: expected a section"});
  }
}
