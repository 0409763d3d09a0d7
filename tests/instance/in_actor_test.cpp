// Calls from inside actor handlers: lazy_put never waits on a scheduler
// worker, blocking calls refuse to run there, and the seed facade refuses
// threads of another actor system.

#include <doctest/doctest.h>

#include <chrono>

#include "tests/fixture.hpp"

using namespace supercache;
using testing::make_record;
using testing::registered;

namespace {

/// What a producer actor saw.
struct tally {
  int64_t accepted = 0;
  int64_t overloaded = 0;
  int64_t other = 0;
};

/// A producer actor: on `(put_atom, first, n)` it writes keys `first` ..
/// `first + n - 1` through `inst` in chunks of 100 calls per message (so
/// that buffers and other actors get to run between chunks) and replies
/// `(accepted, overloaded, other)` once done.
caf::behavior producer(caf::stateful_actor<tally>* self, instance* inst) {
  return {
    [=](caf::put_atom, int64_t first, int64_t n) -> caf::result<int64_t, int64_t, int64_t> {
      auto rp = self->make_response_promise<int64_t, int64_t, int64_t>();
      self->become(caf::keep_behavior, [=](caf::get_atom, int64_t next) mutable {
        auto& st = self->state;
        auto end = std::min(next + 100, first + n);
        for (auto i = next; i < end; ++i) {
          auto err = inst->lazy_put(make_record(i));
          if (!err)
            ++st.accepted;
          else if (err == errc::overloaded)
            ++st.overloaded;
          else
            ++st.other;
        }
        if (end < first + n)
          self->send(self, caf::get_atom::value, end);
        else
          rp.deliver(st.accepted, st.overloaded, st.other);
      });
      self->send(self, caf::get_atom::value, first);
      return rp;
    },
  };
}

/// Runs 4 producer actors of 25,000 records each in a system with
/// `workers` workers and `max-pending` 1000 under `policy`; checks that
/// every call returned and every accepted record is stored or dropped.
void produce_at_the_bound(size_t workers, overflow_policy policy) {
  CAPTURE(workers);
  CAPTURE(to_string(policy));
  testing::threaded_config cfg{workers};
  caf::actor_system sys{cfg};
  instance inst{sys};
  options opts;
  opts.max_pending = 1000;
  opts.overflow = policy;
  REQUIRE_EQ(inst.start(opts), caf::none);
  constexpr int64_t per_actor = 25'000;
  tally total;
  {
    caf::scoped_actor self{sys};
    std::vector<caf::actor> actors;
    for (int64_t a = 0; a < 4; ++a) {
      actors.push_back(sys.spawn(producer, &inst));
      self->send(actors.back(), caf::put_atom::value, a * per_actor,
                 per_actor);
    }
    // Every call returns at once, so 4 answers come within seconds; the
    // deadline only guards against a hang.
    for (int i = 0; i < 4; ++i)
      self->receive(
        [&](int64_t acc, int64_t over, int64_t other) {
          total.accepted += acc;
          total.overloaded += over;
          total.other += other;
        },
        caf::after(std::chrono::seconds(60)) >> [&] {
          FAIL("the producer actors did not finish within 60 s");
        });
    for (auto& hdl : actors)
      self->send_exit(hdl, caf::exit_reason::user_shutdown);
  }
  REQUIRE_EQ(inst.flush(), caf::none);
  auto st = *inst.stats();
  auto stored = static_cast<int64_t>(*inst.size());
  auto dropped = st["dropped"].get<int64_t>();
  CHECK_EQ(total.other, 0);
  CHECK_EQ(total.accepted + total.overloaded, 4 * per_actor);
  CHECK_EQ(st["enqueued"].get<int64_t>(), total.accepted);
  CHECK_EQ(st["rejected"].get<int64_t>(), total.overloaded);
  CHECK_EQ(total.accepted, stored + dropped);
  CHECK_GT(stored, 0);
  if (policy == overflow_policy::drop_oldest) {
    CHECK_EQ(total.accepted, 4 * per_actor);
  } else {
    CHECK_EQ(dropped, 0);
  }
  CHECK_EQ(st["pending"].get<int64_t>(), 0);
  REQUIRE_EQ(inst.stop(), caf::none);
}

/// Calls each blocking function of `inst` inside an actor's handler and
/// returns the errors, in the order start, connect, publish, flush, stop,
/// and the facade's flush (`put` into a local cache does not block: see
/// sync_test.cpp).
std::vector<caf::error> blocking_calls_in_handler(caf::actor_system& sys,
                                                  instance& inst) {
  std::vector<caf::error> result;
  auto hdl = sys.spawn([&](caf::event_based_actor*) -> caf::behavior {
    return {[&](caf::get_atom) {
      result.push_back(inst.start());
      options opts;
      opts.remote = "127.0.0.1:1";
      result.push_back(inst.connect(opts));
      auto port = inst.publish(0);
      result.push_back(port ? caf::error{} : port.error());
      result.push_back(inst.flush());
      result.push_back(inst.stop());
      result.push_back(supercache::flush());
      return caf::ok_atom::value;
    }};
  });
  caf::scoped_actor self{sys};
  self->request(hdl, std::chrono::seconds(30), caf::get_atom::value)
    .receive([](caf::ok_atom) {},
             [](caf::error& err) { FAIL("no answer: " << render(err)); });
  self->send_exit(hdl, caf::exit_reason::user_shutdown);
  return result;
}

} // namespace

TEST_CASE("lazy_put inside actors at the bound under block returns "
          "overloaded at once, and every accepted record is stored") {
  produce_at_the_bound(1, overflow_policy::block);
  produce_at_the_bound(2, overflow_policy::block);
}

TEST_CASE("lazy_put inside actors at the bound under reject returns "
          "overloaded, and every accepted record is stored") {
  produce_at_the_bound(1, overflow_policy::reject);
  produce_at_the_bound(2, overflow_policy::reject);
}

TEST_CASE("lazy_put inside actors at the bound under drop-oldest accepts "
          "every record, and each is stored or counted as dropped") {
  produce_at_the_bound(1, overflow_policy::drop_oldest);
  produce_at_the_bound(2, overflow_policy::drop_oldest);
}

TEST_CASE("every blocking call inside an actor's handler with 1 worker "
          "returns would_deadlock at once") {
  testing::threaded_config cfg{1};
  caf::actor_system sys{cfg};
  instance inst{sys};
  // The facade's default instance, in this system.
  REQUIRE_EQ(supercache::start(sys), caf::none);
  for (auto& err : blocking_calls_in_handler(sys, inst)) {
    CHECK_EQ(err, errc::would_deadlock);
    CHECK_NE(render(err).find("scheduler worker"), std::string::npos);
  }
  REQUIRE_EQ(supercache::stop(), caf::none);
}

TEST_CASE("the seed facade called from an actor of another actor system "
          "returns an error and writes nothing into the default instance") {
  testing::threaded_config cfg_a{2};
  caf::actor_system a{cfg_a};
  testing::threaded_config cfg_b{2};
  caf::actor_system b{cfg_b};
  REQUIRE_EQ(supercache::start(a), caf::none);
  caf::error seen;
  auto hdl = b.spawn([&](caf::event_based_actor*) -> caf::behavior {
    return {[&](caf::get_atom) {
      seen = supercache::lazy_put(make_record(1));
      return caf::ok_atom::value;
    }};
  });
  {
    caf::scoped_actor self{b};
    self->request(hdl, std::chrono::seconds(30), caf::get_atom::value)
      .receive([](caf::ok_atom) {},
               [](caf::error& err) { FAIL(render(err)); });
    self->send_exit(hdl, caf::exit_reason::user_shutdown);
  }
  CHECK_EQ(seen, errc::invalid_option);
  CHECK_NE(render(seen).find("another actor system"), std::string::npos);
  REQUIRE_EQ(supercache::flush(), caf::none);
  CHECK_EQ(*supercache::size(), 0u);
  REQUIRE_EQ(supercache::stop(), caf::none);
}
