// `connect` against cache nodes that report another stream batch form (or
// none, as versions before 2026-12-01 do), or another layout: refused with
// an error naming the difference, before any record is streamed. The
// "nodes" are actors of a second actor system in this process, published on
// loopback, that answer `get_atom` as a cache node's front does.

#include <chrono>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/io/middleman.hpp>

#include <doctest/doctest.h>

#include <supercache/supercache.hpp>

#include "actors/messages.hpp"

using namespace supercache;

namespace {

struct system_with_middleman {
  caf::actor_system_config cfg;
  caf::actor_system sys;

  static caf::actor_system_config& prepare(caf::actor_system_config& cfg) {
    configure(cfg);
    cfg.load<caf::io::middleman>();
    cfg.set("logger.verbosity", caf::atom("quiet"));
    return cfg;
  }

  system_with_middleman() : sys(prepare(cfg)) {
    // nop
  }
};

/// A front that reports itself as its one partition, with `settings`.
caf::behavior fake_front(caf::event_based_actor* self, record settings) {
  return {
    [=](caf::get_atom) {
      std::vector<caf::actor> parts{caf::actor_cast<caf::actor>(self)};
      return caf::make_message(std::move(parts), settings);
    },
  };
}

/// Connects a producer instance to a fake front reporting `settings`.
caf::error connect_to(const record& settings) {
  system_with_middleman node;
  auto front = node.sys.spawn(fake_front, settings);
  auto port = node.sys.middleman().publish(front, 0, "127.0.0.1");
  REQUIRE(port);
  system_with_middleman producer;
  instance inst{producer.sys};
  options opts;
  opts.remote = "127.0.0.1:" + std::to_string(*port);
  opts.buffers = 1;
  opts.connect_timeout = std::chrono::seconds(30);
  auto err = inst.connect(opts);
  // Every fake here is refused; a connect that got through fails the test
  // (and its stop would wait for partitions that are not there).
  REQUIRE(err);
  caf::anon_send_exit(front, caf::exit_reason::user_shutdown);
  return err;
}

} // namespace

TEST_CASE("connect refuses a cache node that sends stream batches in another "
          "form, or reports none, naming both forms") {
  record current{{"key-pos", 0}, {"partition-pos", 0},
                 {"table-type", "set"}, {"wire", batch_wire_form}};
  auto old_node = current;
  old_node.erase("wire");
  auto err = connect_to(old_node);
  CHECK_EQ(err, errc::unreachable);
  auto text = render(err);
  CHECK_NE(text.find("form 1 (it reports none"), std::string::npos);
  CHECK_NE(text.find("this node in form 2"), std::string::npos);
  auto newer = current;
  newer["wire"] = batch_wire_form + 1;
  err = connect_to(newer);
  CHECK_EQ(err, errc::unreachable);
  CHECK_NE(render(err).find("in form 3"), std::string::npos);
}

TEST_CASE("connect refuses a cache node whose table-type or place is not a "
          "string, naming its settings") {
  record settings{{"key-pos", 0}, {"partition-pos", 0},
                  {"table-type", 5}, {"wire", batch_wire_form}};
  auto err = connect_to(settings);
  CHECK_EQ(err, errc::unreachable);
  CHECK_NE(render(err).find("sent settings whose table-type is not a string"),
           std::string::npos);
  settings["table-type"] = "set";
  settings["place"] = record::array({1});
  err = connect_to(settings);
  CHECK_EQ(err, errc::unreachable);
  CHECK_NE(render(err).find("sent settings whose place is not a string"),
           std::string::npos);
}

TEST_CASE("connect refuses a cache node whose key-pos or partition-pos "
          "differs from the producer's, naming both (its batch form, this "
          "version's, passes)") {
  record settings{{"key-pos", 1}, {"partition-pos", 0},
                  {"table-type", "set"}, {"wire", batch_wire_form}};
  auto err = connect_to(settings);
  CHECK_EQ(err, errc::invalid_option);
  CHECK_NE(render(err).find("has key-pos = 1"), std::string::npos);
}
