// Actor-level tests of how a follower holds a producer's stream that begins
// with a hand-over (actors/cache_follow.hpp, `take_batch`), and of what it
// forwards to a follower of its own (`forward`). The test
// coordinator runs one node, so the stream is made by hand: its source is
// marked remote and its batches go straight to `take_batch`, as the sink does
// with a peer's stream; the leader's word comes as a message from `self`.

#include <doctest/doctest.h>

#include "actors/cache_follow.hpp"
#include "tests/fixture.hpp"

using namespace supercache;

namespace {

struct hold_fixture : testing::fixture {
  hold_fixture() {
    part = sys.spawn(cache_actor, uint32_t{0}, uint32_t{1}, tbl,
                     std::shared_ptr<counter_board>{}, guards);
    run();
    ptr = static_cast<cache_actor_type*>(
      caf::actor_cast<caf::abstract_actor*>(part));
    // A follower: `self` is its leader.
    ptr->state.leader = caf::actor_cast<caf::actor>(self);
    auto& src = ptr->state.sources[stream];
    src.slot = {sys.node(), buffer_index};
    src.stream = stream;
    src.remote = true;
  }

  ~hold_fixture() {
    send_local_exit(part, caf::exit_reason::user_shutdown);
    run();
  }

  /// Records `from` .. `from + n - 1` for partition 0.
  std::vector<entry> batch(int from, int n) {
    std::vector<entry> result;
    for (int i = from; i < from + n; ++i) {
      entry x;
      x.value = packed::pack(record::array({i, "v"}), layout).first;
      result.push_back(std::move(x));
    }
    return result;
  }

  /// A batch that begins with the buffer's hand-over `barrier`, as it opens
  /// its stream to a follower, then records `0` .. `n - 1`.
  std::vector<entry> handover_batch(uint64_t barrier, int n) {
    entry marker;
    marker.barrier = barrier;
    marker.erase = true;
    marker.partition = 1; // the follower holds this stream
    std::vector<entry> result{std::move(marker)};
    for (auto& x : batch(0, n))
      result.push_back(std::move(x));
    return result;
  }

  /// Hands `xs` to the follower as its sink does.
  void take(std::vector<entry> xs) {
    take_batch(ptr, stream, xs);
  }

  static constexpr uint64_t stream = 7;
  static constexpr uint32_t buffer_index = 3;
  record_layout layout;
  std::shared_ptr<table> tbl = std::make_shared<table>(table_type::set,
                                                       layout);
  guard_counters_ptr guards = std::make_shared<guard_counters>();
  caf::actor part;
  cache_actor_type* ptr = nullptr;
};

} // namespace

TEST_CASE_FIXTURE(hold_fixture,
                  "a follower holds a stream that begins with a hand-over "
                  "until its leader confirms it, then applies all of it") {
  take(handover_batch(11, 10));
  take(batch(10, 5));
  CHECK_EQ(tbl->size(), 0u);
  CHECK_EQ(ptr->state.holding.size(), 1u);
  self->send(part, follow_atom::value, sys.node(), buffer_index,
             uint64_t{11});
  run();
  CHECK_EQ(tbl->size(), 15u);
  CHECK(ptr->state.holding.empty());
  take(batch(15, 5)); // later batches go straight in
  CHECK_EQ(tbl->size(), 20u);
}

TEST_CASE_FIXTURE(hold_fixture,
                  "a follower takes a hand-over's word only from its leader "
                  "and only for the barrier that stream began with") {
  take(handover_batch(11, 10));
  self->send(part, follow_atom::value, sys.node(), buffer_index,
             uint64_t{12});
  run();
  CHECK_EQ(tbl->size(), 0u);
  auto other = sys.spawn([](caf::event_based_actor*) -> caf::behavior {
    return {[](int) {}};
  });
  ptr->state.leader = other;
  self->send(part, follow_atom::value, sys.node(), buffer_index,
             uint64_t{11});
  run();
  CHECK_EQ(tbl->size(), 0u);
  CHECK_EQ(guards->refused.load(), 1u);
  send_local_exit(other, caf::exit_reason::user_shutdown);
  run();
}

TEST_CASE_FIXTURE(hold_fixture,
                  "a follower holds at most max_held_records of a stream no "
                  "leader confirms, then applies it in order without waiting") {
  static_assert(max_held_records % 1024 == 0);
  // Entries count, the hand-over among them: 1 + 1023 records, then 1024s.
  take(handover_batch(11, 1023));
  for (size_t n = 1023; n + 1 < max_held_records; n += 1024)
    take(batch(static_cast<int>(n), 1024));
  CHECK_EQ(ptr->state.holding.at(stream).records, max_held_records);
  CHECK_EQ(tbl->size(), 0u); // exactly the bound: still held
  take(batch(static_cast<int>(max_held_records) - 1, 1));
  CHECK_EQ(tbl->size(), max_held_records);
  CHECK(ptr->state.holding.empty());
  take(batch(static_cast<int>(max_held_records), 1));
  CHECK_EQ(tbl->size(), max_held_records + 1);
}

TEST_CASE_FIXTURE(hold_fixture,
                  "a follower whose leader went away applies what it held") {
  take(handover_batch(11, 10));
  CHECK_EQ(tbl->size(), 0u);
  leader_gone(ptr);
  CHECK_EQ(tbl->size(), 10u);
  CHECK(ptr->state.holding.empty());
  CHECK(!ptr->state.leader);
}

TEST_CASE_FIXTURE(hold_fixture,
                  "a follower passes each copied record's age on to a "
                  "follower of its own, and a stream's records as just "
                  "written") {
  // `self` follows the follower too: what it forwards lands in `self`.
  cache_state::follower f;
  f.hdl = caf::actor_cast<caf::actor>(self);
  f.token = 1;
  ptr->state.followers.push_back(std::move(f));
  auto forwarded_ages = [&] {
    std::vector<int64_t> result;
    self->receive(
      [&](copy_atom, std::vector<entry>& xs) {
        for (auto& x : xs)
          result.push_back(x.enqueued_ns);
      },
      caf::after(std::chrono::seconds(0)) >> [] {});
    return result;
  };
  auto copied = batch(0, 3);
  copied[0].enqueued_ns = 5'000'000'000; // written 5 s ago
  copied[1].enqueued_ns = 2'000'000'000;
  self->send(part, copy_atom::value, copied);
  run();
  CHECK_EQ(tbl->size(), 3u);
  CHECK_EQ(forwarded_ages(),
           std::vector<int64_t>{5'000'000'000, 2'000'000'000, 0});
  auto streamed = batch(3, 2);
  streamed[0].enqueued_ns = 123'456'789; // the producer's steady clock
  take(streamed);
  CHECK_EQ(tbl->size(), 5u);
  CHECK_EQ(forwarded_ages(), std::vector<int64_t>{0, 0});
}
