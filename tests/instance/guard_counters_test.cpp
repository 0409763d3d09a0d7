// The guard counters (refused, unexpected) belong to one instance: two
// instances in one process, each in an actor system of its own, count what
// their own actors refuse, and nothing of the other's.

#include <doctest/doctest.h>

#include <caf/send.hpp>

#include "instance/state.hpp"
#include "tests/fixture.hpp"

using namespace supercache;
using testing::registered;

namespace {

/// Starts `fx`'s instance with one buffer and one partition.
void start(testing::fixture& fx) {
  options opts;
  opts.buffers = 1;
  opts.partitions = 1;
  REQUIRE_EQ(fx.cache.start(opts), caf::none);
  fx.run_streams();
}

uint64_t counter(testing::fixture& fx, const char* name) {
  return (*fx.cache.stats())[name].get<uint64_t>();
}

} // namespace

TEST_CASE("what the guards refuse is counted in the stats of the instance "
          "whose actor refused it, and in no other instance's") {
  testing::fixture a;
  testing::fixture b;
  start(a);
  start(b);
  // To a's partition: an anonymous exit (as from a peer) and junk; to a's
  // buffer: a local-only stop that arrives as a peer's message.
  auto part = registered(a.sys, cache_name(1));
  auto buf = registered(a.sys, buffer::name(1));
  caf::anon_send_exit(part, caf::exit_reason::kill);
  caf::anon_send(part, std::string{"junk"});
  caf::anon_send(buf, caf::make_message(stop_atom::value));
  a.run_streams();
  // To b's front: junk.
  caf::anon_send(registered(b.sys, instance::front_name()), 1, 2, 3);
  b.run_streams();
  CHECK_EQ(counter(a, "refused"), 2u);
  CHECK_EQ(counter(a, "unexpected"), 1u);
  CHECK_EQ(counter(a, "refused_records"), 0u);
  CHECK_EQ(counter(b, "refused"), 0u);
  CHECK_EQ(counter(b, "unexpected"), 1u);
  CHECK_EQ(counter(b, "refused_records"), 0u);
  // A restarted partition counts into its instance's counters as well.
  send_local_exit(part, caf::exit_reason::kill);
  a.run_streams();
  auto restarted = registered(a.sys, cache_name(1));
  REQUIRE(restarted);
  REQUIRE_NE(restarted, part);
  caf::anon_send(restarted, std::string{"junk"});
  a.run_streams();
  CHECK_EQ(counter(a, "unexpected"), 2u);
  CHECK_EQ(counter(b, "unexpected"), 1u);
}
