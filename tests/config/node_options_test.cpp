// Tests for config/node_options: the options of supercache-node only (role,
// host, port, input), declared besides the library's and read from the same
// `[supercache]` section.

#include "config/node_options.hpp"

#include <string>

#include <caf/actor_system_config.hpp>
#include <caf/pec.hpp>
#include <caf/settings.hpp>

#include <doctest/doctest.h>

#include <supercache/errc.hpp>
#include <supercache/options.hpp>

#include "tests/config/config_fixture.hpp"

using namespace supercache::testing;

using supercache::node::node_role;

namespace {

using node_options = supercache::node::options;

/// Returns the library's option names followed by the node's.
string_list all_option_names() {
  auto result = library_option_names;
  result.insert(result.end(), node_option_names.begin(),
                node_option_names.end());
  return result;
}

} // namespace

// -- defaults and valid values ------------------------------------------------

TEST_CASE("the node options default to a standalone role on 127.0.0.1 with "
          "a free port") {
  auto res = load<node_options>("");
  REQUIRE_MESSAGE(res, rendered(res));
  CHECK_EQ(res->role, node_role::standalone);
  CHECK_EQ(res->host, "127.0.0.1");
  CHECK_EQ(res->port, 0u);
  CHECK_EQ(res->input, "");
}

TEST_CASE("the node options are read from the file and the command line") {
  auto res = load<node_options>("[supercache]\nrole=\"cache\"\n"
                                "host=\"0.0.0.0\"\nport=4242\ninput=\"-\"\n",
                                {"--supercache.role=\"producer\""});
  REQUIRE_MESSAGE(res, rendered(res));
  CHECK_EQ(res->role, node_role::producer);
  CHECK_EQ(res->host, "0.0.0.0");
  CHECK_EQ(res->port, 4242u);
  CHECK_EQ(res->input, "-");
}

TEST_CASE("a bad role, host or port is invalid_option naming key and value") {
  check_bad_lines<node_options>({
    bad_case{"role=\"master\"", "supercache.role", "master"},
    bad_case{"role=1", "supercache.role", "1"},
    bad_case{"role='cache'", "supercache.role", "'cache'"},
    bad_case{"port=65536", "supercache.port", "65536"},
    bad_case{"port=-1", "supercache.port", "-1"},
    bad_case{"port=\"4000\"", "supercache.port", "4000"},
    bad_case{"host=5", "supercache.host", "5"},
    bad_case{"input=1", "supercache.input", "1"},
  });
}

TEST_CASE("validate rejects a port above 65535") {
  node_options opts;
  CHECK(!opts.validate());
  opts.port = 65535;
  CHECK(!opts.validate());
  opts.port = 65536;
  auto err = opts.validate();
  CHECK(err == supercache::errc::invalid_option);
  CHECK_NE(supercache::render(err).find("supercache.port = 65536"),
           std::string::npos);
}

TEST_CASE("node_role names round-trip through to_string and node_role_from") {
  for (auto role : {node_role::standalone, node_role::cache,
                    node_role::producer})
    CHECK_EQ(supercache::node::node_role_from(to_string(role)), role);
  CHECK_EQ(std::string{to_string(node_role::cache)}, "cache");
  CHECK_FALSE(supercache::node::node_role_from("master"));
}

// -- one section, two tables --------------------------------------------------

TEST_CASE("the node's option set has role, host, port and input besides the "
          "library's options") {
  options_config cfg{option_set::node};
  CHECK_EQ(cfg.supercache_names(), all_option_names());
  auto help = help_text(cfg);
  for (auto& name : all_option_names()) {
    // A boolean is a flag on CAF 0.17's command line: no `=VALUE`.
    bool listed = help.find("--supercache." + name + "=") != std::string::npos
                  || help.find("--supercache." + name + " ")
                       != std::string::npos;
    CHECK_MESSAGE(listed, name << " is not in the node's help");
  }
  for (auto& name : node_option_names)
    CHECK(supercache::node::is_option(name));
  for (auto& name : library_option_names)
    CHECK_FALSE(supercache::node::is_option(name));
}

TEST_CASE("declaring the node options twice declares each option once") {
  options_config cfg{option_set::node};
  supercache::node::declare_options(cfg);
  supercache::declare_options(cfg);
  CHECK_EQ(cfg.supercache_names(), all_option_names());
}

TEST_CASE("in the node's config each reader reads its own keys and accepts "
          "the other's") {
  auto text = "[supercache]\nbuffers=2\nremote=\"cachehost:4000\"\n"
              "role=\"producer\"\ninput=\"-\"\n";
  check_invalid(load(text), // A library program knows neither key.
                {"unknown key 'supercache.input'",
                 "an option of supercache-node"});
  temp_dir dir;
  auto file = dir.write("node.conf", text);
  options_config cfg{option_set::node};
  REQUIRE(!cfg.parse(string_list{"--supercache.port=4001"}, file.c_str()));
  auto lib_opts = supercache::options::from(cfg);
  REQUIRE_MESSAGE(lib_opts, rendered(lib_opts));
  CHECK_EQ(lib_opts->buffers, 2u);
  CHECK_EQ(lib_opts->remote, "cachehost:4000");
  auto node_opts = node_options::from(cfg);
  REQUIRE_MESSAGE(node_opts, rendered(node_opts));
  CHECK_EQ(node_opts->role, node_role::producer);
  CHECK_EQ(node_opts->input, "-");
  CHECK_EQ(node_opts->port, 4001u);
}

TEST_CASE("an unknown key in the node's config file is invalid_option naming "
          "the key for both readers") {
  temp_dir dir;
  auto file = dir.write("node.conf", "[supercache]\nrole=\"cache\"\nrol=1\n");
  options_config cfg{option_set::node};
  REQUIRE(!cfg.parse(string_list{}, file.c_str()));
  check_invalid(node_options::from(cfg),
                {"unknown key 'supercache.rol'", "node.conf"});
  check_invalid(supercache::options::from(cfg),
                {"unknown key 'supercache.rol'", "node.conf"});
}

TEST_CASE("a bad node value is left to the node's reader: the library's "
          "reader accepts the node's config") {
  auto text = "[supercache]\nrole=\"master\"\n";
  check_invalid(load<node_options>(text), {"supercache.role = \"master\""});
  temp_dir dir;
  auto file = dir.write("node.conf", text);
  options_config cfg{option_set::node};
  REQUIRE(!cfg.parse(string_list{}, file.c_str()));
  auto lib_opts = supercache::options::from(cfg);
  CHECK_MESSAGE(lib_opts, rendered(lib_opts));
}

TEST_CASE("an unknown supercache option on the node's command line fails "
          "parse") {
  temp_dir dir;
  auto file = dir.write("node.conf", "");
  options_config cfg{option_set::node};
  auto err = cfg.parse(string_list{"--supercache.rol=\"cache\""},
                       file.c_str());
  CHECK(err == caf::pec::not_an_option);
}
