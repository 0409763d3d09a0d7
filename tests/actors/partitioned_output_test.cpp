// The lanes of the buffer's downstream manager (actors/partitioned_output.hpp)
// as copies of partitions go away and come back. No stream runs here: these
// calls touch only the manager's own bookkeeping.

#include <doctest/doctest.h>

#include "actors/messages.hpp"
#include "actors/partitioned_output.hpp"

using namespace supercache;

namespace {

entry record_entry(int i) {
  entry x;
  x.partition = 0;
  x.enqueued_ns = i;
  return x;
}

} // namespace

TEST_CASE("a copy that goes away and comes back again and again takes its "
          "retired lane back, so a partition never has more lanes than "
          "copies") {
  partitioned_output<entry> out{nullptr};
  out.partitions(4);
  out.groups({0, 0, 1, 1}); // two partitions, two copies each
  for (int round = 0; round < 5; ++round) {
    CAPTURE(round);
    REQUIRE(out.push_to(1, record_entry(round)));
    out.retire(1);
    CHECK(out.retired(1));
    CHECK_EQ(out.queued(1), 0u); // the other copy holds the same records
    CHECK_EQ(out.add_lane(0), 1u);
    CHECK_FALSE(out.retired(1));
    CHECK_EQ(out.queued(1), 0u); // it carries what is pushed from now on
    CHECK_EQ(out.slot_of(1), caf::invalid_stream_slot); // no path yet
    CHECK_EQ(out.partitions(), 4u);
  }
  // Both copies of the second partition go and come back.
  out.retire(2);
  out.retire(3);
  CHECK_EQ(out.add_lane(1), 2u);
  CHECK_EQ(out.add_lane(1), 3u);
  CHECK_EQ(out.partitions(), 4u);
  // A lane for a partition whose lanes all live is a new one.
  CHECK_EQ(out.add_lane(0), 4u);
  CHECK_EQ(out.partitions(), 5u);
  CHECK_FALSE(out.retired(4));
}
