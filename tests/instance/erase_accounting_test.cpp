// Exact accounting of lazy erases under faults. An accepted `lazy_erase` is
// one operation, like a record: `stored + lost + lost_stored + dropped ==
// accepted` holds over operations, where an applied erase counts as stored.
// Every erase here targets a key whose record is stored when the erase is
// applied, so each applied erase removes exactly one record (`erased`): the
// operations applied to a table are its records plus twice its `erased`.
// Both cases run on the test coordinator, so each fault lands at a chosen
// point of the stream.

#include <doctest/doctest.h>

#include "instance/state.hpp"
#include "tests/fixture.hpp"

using namespace supercache;
using testing::make_record;
using testing::registered;

namespace {

struct erase_accounting : testing::fixture {
  /// Starts the fixture's instance with one buffer and one partition and
  /// opens its stream.
  void start_one_by_one(overflow_policy policy, size_t max_pending) {
    options opts;
    opts.buffers = 1;
    opts.partitions = 1;
    opts.overflow = policy;
    opts.max_pending = max_pending;
    REQUIRE_EQ(cache.start(opts), caf::none);
    run_streams();
  }

  /// Returns the table of the running partition.
  std::shared_ptr<table> partition_table() {
    return cache.state().load()->tables[0];
  }

  /// Lazily puts keys `first` .. `first + n - 1`; returns how many were
  /// accepted.
  int64_t put(int64_t first, int64_t n) {
    int64_t accepted = 0;
    for (int64_t i = first; i < first + n; ++i)
      if (!cache.lazy_put(make_record(i)))
        ++accepted;
    return accepted;
  }

  /// Lazily erases keys `first` .. `first + n - 1`; returns how many were
  /// accepted.
  int64_t erase(int64_t first, int64_t n) {
    int64_t accepted = 0;
    for (int64_t i = first; i < first + n; ++i)
      if (!cache.lazy_erase(make_record(i)))
        ++accepted;
    return accepted;
  }

  int64_t counter(const char* name) {
    return (*cache.stats())[name].get<int64_t>();
  }

  /// Returns the operations applied to `tbl` that left no record in it: the
  /// records erased and the erases that removed them.
  static int64_t applied_and_gone(const table& tbl) {
    return 2 * static_cast<int64_t>(tbl.erased());
  }
};

} // namespace

TEST_CASE_FIXTURE(erase_accounting,
                  "lazy erases in flight to a partition that died count as "
                  "lost operations, so the invariant holds exactly over "
                  "records and erases") {
  start_one_by_one(overflow_policy::block, options{}.max_pending);
  auto part = registered(sys, cache_name(1));
  auto old_table = partition_table();
  // Applied: 20 records, then erases of 10 of them.
  auto accepted = put(0, 20);
  accepted += erase(0, 10);
  REQUIRE_EQ(cache.flush(), caf::none);
  REQUIRE_EQ(old_table->size(), 10u);
  REQUIRE_EQ(old_table->erased(), 10u);
  // Credit rounds on simulated time give the buffer credit again.
  run_streams();
  // Shipped, never applied: 20 records and 10 erases of them wait in the
  // partition's mailbox when it dies.
  accepted += put(20, 20);
  accepted += erase(20, 10);
  auto held = dynamic_cast<caf::resumable*>(
    caf::actor_cast<caf::abstract_actor*>(part));
  sched.run_jobs_filtered([&](caf::resumable* job) { return job != held; });
  REQUIRE_EQ(counter("written"), 60);
  send_local_exit(part, caf::exit_reason::kill);
  sched.prioritize(part);
  sched.run_once();
  run();
  CHECK_EQ(counter("lost"), 30);
  CHECK_EQ(counter("lost_stored"), 10);
  CHECK_EQ(old_table->erased(), 10u);
  // The replacement applies 10 records and erases of 5 of them.
  accepted += put(40, 10);
  accepted += erase(40, 5);
  REQUIRE_EQ(cache.flush(), caf::none);
  auto live = partition_table();
  REQUIRE_NE(live, old_table);
  CHECK_EQ(live->size(), 5u);
  CHECK_EQ(live->erased(), 5u);
  REQUIRE_EQ(accepted, 75);
  CHECK_EQ(counter("enqueued"), accepted);
  CHECK_EQ(counter("erases"), 25);
  CHECK_EQ(counter("pending"), 0);
  // The dead table's records are `lost_stored`; what was applied to it and
  // left nothing counts as stored.
  auto stored = static_cast<int64_t>(*cache.size()) + applied_and_gone(*live)
                + applied_and_gone(*old_table);
  CAPTURE(stored);
  CHECK_EQ(stored + counter("lost") + counter("lost_stored")
             + counter("dropped"),
           accepted);
}

TEST_CASE_FIXTURE(erase_accounting,
                  "under drop-oldest at the bound, dropped lazy erases count "
                  "as dropped operations and the invariant holds exactly") {
  start_one_by_one(overflow_policy::drop_oldest, 10);
  // 40 records stored synchronously (not lazy operations).
  std::vector<record> xs;
  for (int64_t i = 0; i < 40; ++i)
    xs.push_back(make_record(i));
  REQUIRE_EQ(cache.put_batch(std::move(xs)), caf::none);
  // 80 lazy operations against a bound of 10: an erase of each stored key,
  // each followed by a record of a new key. The buffer drops the oldest.
  int64_t accepted = 0;
  for (int64_t i = 0; i < 40; ++i) {
    accepted += erase(i, 1);
    accepted += put(100 + i, 1);
  }
  REQUIRE_EQ(accepted, 80);
  REQUIRE_EQ(cache.flush(), caf::none);
  auto dropped = counter("dropped");
  CAPTURE(dropped);
  CHECK_GT(dropped, 0);
  CHECK_EQ(counter("enqueued"), accepted);
  CHECK_EQ(counter("erases"), 40);
  CHECK_EQ(counter("pending"), 0);
  CHECK_EQ(counter("lost"), 0);
  // Each applied erase removed one of the 40 stored records; each applied
  // record is a new key.
  auto tbl = partition_table();
  auto erases_applied = static_cast<int64_t>(tbl->erased());
  int64_t puts_applied = 0;
  int64_t left = 0;
  for (int64_t i = 0; i < 40; ++i) {
    left += cache.get(make_record(i))->size();
    puts_applied += cache.get(make_record(100 + i))->size();
  }
  CHECK_EQ(left, 40 - erases_applied);
  CHECK_EQ(static_cast<int64_t>(*cache.size()), left + puts_applied);
  CHECK_EQ(counter("written") + dropped, accepted);
  CHECK_EQ(erases_applied + puts_applied + dropped, accepted);
  REQUIRE_EQ(cache.stop(), caf::none);
}
