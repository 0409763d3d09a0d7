// Tests for config/options: reading, declaring and validating the library's
// `[supercache]` options of a CAF 0.17 config (INI file plus command line).
// The node's own options are in node_options_test.cpp, config file handling
// in config_file_test.cpp.

#include <supercache/options.hpp>

#include <chrono>
#include <string>

#include <caf/actor_system_config.hpp>
#include <caf/settings.hpp>

#include <doctest/doctest.h>

#include <supercache/errc.hpp>
#include <supercache/supercache.hpp>

#include "tests/config/config_fixture.hpp"

using namespace supercache::testing;

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

// -- unknown keys -------------------------------------------------------------

TEST_CASE("an unknown key in [supercache] is invalid_option naming the key") {
  // CAF 0.17 keeps the unknown key in cfg.content without complaint.
  auto res = load("[supercache]\nbufers=4\n");
  check_invalid(res, {"unknown key 'supercache.bufers'", "test.conf"});
}

TEST_CASE("an unknown supercache key in the parsed content is invalid_option") {
  options_config cfg;
  REQUIRE(!cfg.parse(string_list{}));
  caf::put(cfg.content, "supercache.bufers", 4);
  check_invalid(supercache::options::from(cfg),
                {"unknown key 'supercache.bufers'"});
}

TEST_CASE("an unknown supercache option on the command line fails parse") {
  temp_dir dir;
  auto file = dir.write("test.conf", "");
  options_config cfg;
  auto err = cfg.parse(string_list{"--supercache.bufers=4"}, file.c_str());
  CHECK(err == caf::pec::not_an_option);
}

TEST_CASE("a node option in a library program's config file is invalid_option "
          "saying it belongs to supercache-node") {
  for (auto line : {"role=\"cache\"", "host=\"0.0.0.0\"", "port=4000",
                    "input=\"-\""}) {
    CAPTURE(line);
    auto key = std::string{line}.substr(0, std::string{line}.find('='));
    check_invalid(load(std::string{"[supercache]\n"} + line + "\n"),
                  {"unknown key 'supercache." + key + "'", "test.conf",
                   "an option of supercache-node"});
  }
}

TEST_CASE("a node option on a library program's command line fails parse") {
  temp_dir dir;
  auto file = dir.write("test.conf", "");
  options_config cfg;
  auto err = cfg.parse(string_list{"--supercache.role=\"cache\""},
                       file.c_str());
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
    options_config cfg;
    auto err = cfg.parse(string_list{"--supercache.buffers=four"},
                         file.c_str());
    CHECK(err == caf::pec::unexpected_character);
  }
  SUBCASE("a negative number for partition-pos") {
    options_config cfg;
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

// -- declaration and help -----------------------------------------------------

TEST_CASE("--long-help lists every library option with its description") {
  options_config cfg;
  auto help = help_text(cfg);
  for (auto& opt : cfg.declared()) {
    if (opt.category() != "supercache")
      continue;
    std::string name{opt.long_name().begin(), opt.long_name().end()};
    // A boolean is a flag on CAF 0.17's command line: no `=VALUE`.
    auto flag = "--supercache." + name + (opt.is_flag() ? " " : "=");
    std::string description{opt.description().begin(),
                            opt.description().end()};
    CHECK_FALSE(description.empty());
    auto pos = help.find(flag);
    REQUIRE_MESSAGE(pos != std::string::npos, flag << " not in help");
    auto line = help.substr(pos, help.find('\n', pos) - pos);
    CHECK_MESSAGE(line.find(description) != std::string::npos, line);
  }
  CHECK_EQ(cfg.supercache_names(), library_option_names);
}

TEST_CASE("a program that calls only supercache::configure lists no role, "
          "host, port or input in its --long-help") {
  caf::actor_system_config cfg;
  supercache::configure(cfg);
  auto help = help_text(cfg);
  CHECK_NE(help.find("--supercache.remote="), std::string::npos);
  CHECK_NE(help.find("--supercache.call-timeout="), std::string::npos);
  for (auto& name : node_option_names)
    CHECK_MESSAGE(help.find("--supercache." + name + "=") == std::string::npos,
                  name << " is in the help of a library program");
}

TEST_CASE("declaring the options twice declares each option once") {
  options_config cfg;
  supercache::declare_options(cfg);
  CHECK_EQ(cfg.supercache_names(), library_option_names);
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

// -- remote and timeouts ------------------------------------------------------

TEST_CASE("remote is empty and the timeouts are 5s and 30s by default") {
  auto res = load("");
  REQUIRE_MESSAGE(res, rendered(res));
  CHECK_EQ(res->remote, "");
  CHECK_EQ(res->connect_timeout, std::chrono::seconds(5));
  CHECK_EQ(res->call_timeout, std::chrono::seconds(30));
}

TEST_CASE("remote and the timeouts are read from the file and the command "
          "line") {
  auto res = load("[supercache]\nconnect-timeout=2s\ncall-timeout=10s\n",
                  {"--supercache.remote=\"cache.example.org:4242\""});
  REQUIRE_MESSAGE(res, rendered(res));
  CHECK_EQ(res->remote, "cache.example.org:4242");
  CHECK_EQ(res->connect_timeout, std::chrono::seconds(2));
  CHECK_EQ(res->call_timeout, std::chrono::seconds(10));
}

TEST_CASE("a bad remote, connect-timeout or call-timeout is invalid_option "
          "naming key and value") {
  check_bad_lines({
    bad_case{"remote=\"cachehost\"", "supercache.remote", "cachehost"},
    bad_case{"remote=\"cachehost:0\"", "supercache.remote", "cachehost:0"},
    bad_case{"remote=\":4000\"", "supercache.remote", ":4000"},
    bad_case{"remote=\"h:99999\"", "supercache.remote", "h:99999"},
    bad_case{"remote=4000", "supercache.remote", "4000"},
    bad_case{"connect-timeout=0s", "supercache.connect-timeout", "0"},
    bad_case{"call-timeout=0s", "supercache.call-timeout", "0"},
  });
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
  CHECK_EQ(b->text, "[::1]:65535");
  for (auto bad : {"", "host", "host:", "host:x1", "host:123456", ":1"})
    CHECK_FALSE(supercache::parse_endpoint(bad));
}

TEST_CASE("parse_endpoints reads a cluster list in order and names an entry "
          "that is bad or listed twice") {
  auto xs = supercache::parse_endpoints("a:1,[::1]:2,b:3");
  REQUIRE(xs);
  REQUIRE_EQ(xs->size(), 3u);
  CHECK_EQ((*xs)[1].host, "::1");
  CHECK_EQ((*xs)[2].port, 3);
  CHECK_EQ((*xs)[1].text, "[::1]:2");
  auto one = supercache::parse_endpoints("a:1");
  REQUIRE(one);
  CHECK_EQ(one->size(), 1u);
  for (auto bad : {"a:1,", ",a:1", "a:1,,b:2", "a:1,b"})
    CHECK_FALSE(supercache::parse_endpoints(bad));
  auto twice = supercache::parse_endpoints("a:1,b:2,a:1");
  REQUIRE_FALSE(twice);
  CHECK_NE(supercache::render(twice.error()).find("\"a:1\" is listed twice"),
           std::string::npos);
}

TEST_CASE("a cluster list and replicas are read from the file; replicas of "
          "0 or a bad list entry is invalid_option naming key and value") {
  auto res = load("[supercache]\nremote=\"a:1,b:2,c:3\"\nreplicas=2\n");
  REQUIRE_MESSAGE(res, rendered(res));
  CHECK_EQ(res->remote, "a:1,b:2,c:3");
  CHECK_EQ(res->replicas, 2u);
  CHECK_EQ(load("[scheduler]\nmax-threads=2\n")->replicas, 1u);
  check_bad_lines({
    bad_case{"replicas=0", "supercache.replicas", "0"},
    bad_case{"remote=\"a:1,b\"", "supercache.remote", "a:1,b"},
    bad_case{"remote=\"a:1,a:1\"", "supercache.remote", "a:1,a:1"},
  });
}

// -- expiry and size bound ----------------------------------------------------

TEST_CASE("ttl and max-records default to none and take a valid value") {
  auto none = load("[scheduler]\nmax-threads=2\n");
  REQUIRE_MESSAGE(none, rendered(none));
  CHECK_EQ(none->ttl, caf::timespan{0});
  CHECK_EQ(none->max_records, 0u);
  auto res = load("[supercache]\nttl=90s\nmax-records=1000\n");
  REQUIRE_MESSAGE(res, rendered(res));
  CHECK_EQ(res->ttl, std::chrono::seconds(90));
  CHECK_EQ(res->max_records, 1000u);
}

TEST_CASE("a zero, negative, sub-millisecond or too long ttl and a zero "
          "max-records are invalid_option naming key and value") {
  check_bad_lines({bad_case{"ttl=0s", "supercache.ttl", "0"},
                   bad_case{"ttl=-1s", "supercache.ttl", "expected a duration"},
                   bad_case{"ttl=500us", "supercache.ttl", "500us"},
                   bad_case{"ttl=600h", "supercache.ttl", "1ms..596h"},
                   bad_case{"ttl=\"soon\"", "supercache.ttl", "soon"},
                   bad_case{"max-records=0", "supercache.max-records", "0"},
                   bad_case{"max-records=-5", "supercache.max-records", "-5"}});
}

TEST_CASE("options::validate refuses a ttl set in code outside 1ms..596h") {
  supercache::options opts;
  opts.ttl = std::chrono::microseconds(10);
  auto err = opts.validate();
  CHECK_EQ(err, supercache::errc::invalid_option);
  opts.ttl = std::chrono::hours(1);
  CHECK_EQ(opts.validate(), caf::none);
}
