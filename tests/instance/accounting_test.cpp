// Exact accounting when partitions and buffers die in any combination:
// `stored + lost + lost_stored + dropped == accepted`. The first cases run on
// the test coordinator and place each death at a chosen point of the stream:
// a partition that is not run keeps the batches shipped to it unprocessed.
// The last one runs two actor systems over loopback.

#include <doctest/doctest.h>

#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>

#include <caf/io/middleman.hpp>

#include "instance/state.hpp"
#include "tests/fixture.hpp"

using namespace supercache;
using testing::make_record;
using testing::registered;

namespace {

struct accounting : testing::fixture {
  /// Starts the fixture's instance with one buffer and one partition and
  /// opens its stream.
  void start_one_by_one(overflow_policy policy = overflow_policy::block,
                        size_t max_pending = options{}.max_pending) {
    options opts;
    opts.buffers = 1;
    opts.partitions = 1;
    opts.overflow = policy;
    opts.max_pending = max_pending;
    REQUIRE_EQ(cache.start(opts), caf::none);
    run_streams();
  }

  caf::actor buffer() {
    return registered(sys, buffer::name(1));
  }

  caf::actor partition() {
    return registered(sys, cache_name(1));
  }

  /// Returns the table of the running partition.
  std::shared_ptr<table> partition_table() {
    return cache.state().load()->tables[0];
  }

  /// Puts keys `first` .. `first + n - 1`; returns how many were accepted.
  int64_t put(int64_t first, int64_t n) {
    int64_t accepted = 0;
    for (int64_t i = first; i < first + n; ++i)
      if (!cache.lazy_put(make_record(i)))
        ++accepted;
    return accepted;
  }

  /// Runs every job but `held`'s: the batches shipped to it wait in its
  /// mailbox.
  void run_all_but(const caf::actor& held) {
    auto ptr = dynamic_cast<caf::resumable*>(
      caf::actor_cast<caf::abstract_actor*>(held));
    sched.run_jobs_filtered([&](caf::resumable* job) { return job != ptr; });
  }

  /// Kills `hdl` and runs it until it is gone, before anything else runs.
  void kill_now(const caf::actor& hdl) {
    send_local_exit(hdl, caf::exit_reason::kill);
    sched.prioritize(hdl);
    sched.run_once();
  }

  int64_t counter(const char* name) {
    return (*cache.stats())[name].get<int64_t>();
  }

  /// Checks `stored + lost + lost_stored + dropped == accepted` after a
  /// flush, and that no ledger of a dead stream is left.
  void check_exact(int64_t accepted) {
    REQUIRE_EQ(cache.flush(), caf::none);
    auto stored = static_cast<int64_t>(*cache.size());
    CAPTURE(stored);
    CAPTURE(counter("lost"));
    CAPTURE(counter("lost_stored"));
    CAPTURE(counter("dropped"));
    CHECK_EQ(counter("enqueued"), accepted);
    CHECK_EQ(stored + counter("lost") + counter("lost_stored")
               + counter("dropped"),
             accepted);
    CHECK_EQ(counter("pending"), 0);
    // Only the live stream (one buffer, one partition) has a ledger: every
    // stream of a dead buffer or partition is settled and forgotten.
    CHECK_EQ(cache.state().counters->open_streams(), 1u);
  }
};

} // namespace

TEST_CASE_FIXTURE(accounting,
                  "records in flight to a partition that died count as lost "
                  "when their buffer dies before it learns of the death") {
  start_one_by_one();
  auto part = partition();
  auto old_table = partition_table();
  auto accepted = put(0, 40);
  run_all_but(part);
  REQUIRE_EQ(counter("written"), 40);
  // The partition dies with the 40 records in its mailbox; the buffer dies
  // before its down message (or the supervisor's reopen) reaches it.
  kill_now(part);
  kill_now(buffer());
  run();
  CHECK_EQ(old_table->size(), 0u);
  CHECK_EQ(counter("lost"), 40);
  CHECK_EQ(counter("lost_stored"), 0);
  // The replacements work: new records are stored.
  accepted += put(100, 10);
  check_exact(accepted);
  CHECK_EQ(*cache.size(), 10u);
}

TEST_CASE_FIXTURE(accounting,
                  "records a dead buffer shipped count as lost when the "
                  "partition holding them dies before processing them") {
  start_one_by_one();
  auto part = partition();
  auto old_table = partition_table();
  auto accepted = put(0, 40);
  run_all_but(part);
  REQUIRE_EQ(counter("written"), 40);
  // The buffer dies and is replaced; then the partition, still holding its
  // batches, dies too.
  kill_now(buffer());
  run_all_but(part);
  REQUIRE(buffer());
  kill_now(part);
  run();
  CHECK_EQ(old_table->size(), 0u);
  CHECK_EQ(counter("lost"), 40);
  accepted += put(100, 10);
  check_exact(accepted);
  CHECK_EQ(*cache.size(), 10u);
}

TEST_CASE_FIXTURE(accounting,
                  "a replacement buffer is not credited with what a dead "
                  "partition processed of the records of the buffer it "
                  "replaced") {
  start_one_by_one();
  auto part = partition();
  auto old_table = partition_table();
  // The first buffer's 40 records are stored; it dies.
  auto accepted = put(0, 40);
  REQUIRE_EQ(cache.flush(), caf::none);
  kill_now(buffer());
  run();
  REQUIRE(buffer());
  // Its replacement ships 30 records that the partition never processes.
  accepted += put(100, 30);
  run_all_but(part);
  REQUIRE_EQ(counter("written"), 70);
  kill_now(part);
  run();
  CHECK_EQ(old_table->size(), 40u);
  CHECK_EQ(counter("lost_stored"), 40);
  CHECK_EQ(counter("lost"), 30);
  check_exact(accepted);
  CHECK_EQ(*cache.size(), 0u);
}

TEST_CASE_FIXTURE(accounting,
                  "records whose insertion throws count as lost, so the "
                  "invariant holds exactly with injected faults") {
  start_one_by_one();
  // Every record with a key divisible by 10 fails to store.
  partition_table()->inject_faults([](const packed& x) {
    if (x.unpack()[0].get<int64_t>() % 10 == 0)
      throw std::runtime_error("injected fault");
  });
  auto accepted = put(0, 100);
  REQUIRE_EQ(accepted, 100);
  check_exact(accepted);
  CHECK_EQ(partition_table()->failed(), 10u);
  CHECK_EQ(*cache.size(), 90u);
  CHECK_EQ(counter("lost"), 10);
}

TEST_CASE_FIXTURE(testing::fixture,
                  "under drop-oldest, records the buffer drops while "
                  "stopping stay counted in stats after buffer::stop") {
  options opts;
  opts.buffers = 1;
  opts.partitions = 1;
  opts.overflow = overflow_policy::drop_oldest;
  opts.max_pending = 10;
  REQUIRE_EQ(start(sys, opts), caf::none);
  run_streams();
  // Twice the bound is accepted without waiting; the buffer has not run, so
  // it drops while it drains on stop.
  int64_t accepted = 0;
  for (int64_t i = 0; i < 20; ++i)
    if (!lazy_put(make_record(i)))
      ++accepted;
  REQUIRE_EQ(accepted, 20);
  REQUIRE_EQ(buffer::stop(), caf::none);
  auto counter = [](const char* name) {
    return (*stats())[name].get<int64_t>();
  };
  auto stored = static_cast<int64_t>(*size());
  CAPTURE(stored);
  CHECK_GT(counter("dropped"), 0);
  CHECK_EQ(counter("enqueued"), accepted);
  CHECK_EQ(stored + counter("dropped") + counter("lost"), accepted);
  // Buffers started again add to the same totals.
  REQUIRE_EQ(buffer::start(sys, 1), caf::none);
  for (int64_t i = 100; i < 105; ++i)
    if (!lazy_put(make_record(i)))
      ++accepted;
  REQUIRE_EQ(flush(), caf::none);
  stored = static_cast<int64_t>(*size());
  CHECK_EQ(counter("enqueued"), accepted);
  CHECK_EQ(stored + counter("dropped") + counter("lost"), accepted);
  REQUIRE_EQ(stop(), caf::none);
}

namespace {

/// A threaded config with CAF's network layer.
struct net_config : testing::threaded_config {
  net_config() {
    load<caf::io::middleman>();
  }
};

int64_t counter_of(instance& inst, const char* name) {
  return (*inst.stats())[name].get<int64_t>();
}

} // namespace

TEST_CASE("on a cache node that also serves a remote producer with the same "
          "buffer index, a partition restart leaves the local buffer's "
          "accounting exact") {
  net_config node_cfg;
  caf::actor_system node_sys{node_cfg};
  instance node{node_sys};
  options opts;
  opts.buffers = 1;
  opts.partitions = 2;
  REQUIRE_EQ(node.start(opts), caf::none);
  auto port = node.publish(0);
  REQUIRE(port);
  // The remote producer's buffer 1 streams into both partitions; all of its
  // records are stored before the kills.
  constexpr int64_t remote_records = 50'000;
  {
    net_config producer_cfg;
    caf::actor_system producer_sys{producer_cfg};
    instance producer{producer_sys};
    options popts;
    popts.buffers = 1;
    popts.remote = "127.0.0.1:" + std::to_string(*port);
    REQUIRE_EQ(producer.connect(popts), caf::none);
    for (int64_t i = 0; i < remote_records; ++i)
      REQUIRE_EQ(producer.lazy_put(make_record(1'000'000'000 + i)),
                 caf::none);
    REQUIRE_EQ(producer.flush(), caf::none);
    REQUIRE_EQ(producer.stop(), caf::none);
  }
  REQUIRE_EQ(*node.size(), static_cast<size_t>(remote_records));
  // The node's own buffer 1 streams while each partition is killed once:
  // what was in flight to a dead partition is lost, and the remote
  // producer's records that partition processed must not offset it.
  std::atomic<int64_t> accepted{0};
  std::thread producer{[&] {
    for (int64_t i = 0; i < 150'000; ++i)
      if (!node.lazy_put(make_record(i)))
        ++accepted;
  }};
  for (size_t p = 1; p <= 2; ++p) {
    while (accepted.load() < static_cast<int64_t>(p) * 50'000)
      std::this_thread::yield();
    send_local_exit(registered(node_sys, cache_name(p)),
                        caf::exit_reason::kill);
  }
  producer.join();
  REQUIRE_EQ(accepted.load(), 150'000);
  REQUIRE_EQ(node.flush(), caf::none);
  auto stored = static_cast<int64_t>(*node.size());
  auto lost = counter_of(node, "lost");
  auto lost_stored = counter_of(node, "lost_stored");
  MESSAGE("stored " << stored << ", lost " << lost << ", lost_stored "
                    << lost_stored);
  CHECK_EQ(stored + lost + lost_stored + counter_of(node, "dropped"),
           remote_records + accepted.load());
  CHECK_EQ(counter_of(node, "pending"), 0);
  REQUIRE_EQ(node.stop(), caf::none);
}
