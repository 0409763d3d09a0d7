// The hot path reads the running cache through a view_pin: a replaced view
// lives until no pinned call can read it, and calls racing with stop get a
// result or not_started.

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "instance/state.hpp"
#include "tests/fixture.hpp"

using namespace supercache;
using detail::cache_view;
using detail::instance_state;
using detail::view_pin;

namespace {

std::shared_ptr<cache_view> view_named(const char* peer) {
  auto x = std::make_shared<cache_view>();
  x->peer = peer;
  return x;
}

} // namespace

TEST_CASE("a view replaced while a pinned call reads it stays alive until "
          "the pin ends, and is freed by drain_views after") {
  testing::threaded_config cfg{1};
  caf::actor_system sys{cfg};
  instance_state st{sys};
  auto first = view_named("first");
  std::weak_ptr<cache_view> weak_first = first;
  st.store(std::move(first));
  {
    view_pin pin{st};
    auto seen = pin.load();
    REQUIRE(seen != nullptr);
    st.store(view_named("second"));
    CHECK_FALSE(weak_first.expired());
    CHECK_EQ(seen->peer, "first");
    CHECK_EQ(pin.load()->peer, "second");
    // While the pin lives, draining gives up.
    CHECK_FALSE(st.drain_views(std::chrono::milliseconds{0}));
  }
  CHECK_FALSE(weak_first.expired());
  CHECK(st.drain_views(std::chrono::milliseconds{100}));
  CHECK(weak_first.expired());
  st.store(nullptr);
}

TEST_CASE("a view replaced while no call is pinned is freed at once") {
  testing::threaded_config cfg{1};
  caf::actor_system sys{cfg};
  instance_state st{sys};
  auto first = view_named("first");
  std::weak_ptr<cache_view> weak_first = first;
  st.store(std::move(first));
  st.store(view_named("second"));
  CHECK(weak_first.expired());
  CHECK(st.retired_views.empty());
  view_pin pin{st};
  CHECK_EQ(pin.load()->peer, "second");
}

TEST_CASE("put, put_batch and get racing with stop and start return a result "
          "or not_started") {
  testing::threaded_config cfg{2};
  caf::actor_system sys{cfg};
  instance inst{sys};
  options opts;
  opts.partitions = 2;
  REQUIRE_EQ(inst.start(opts), caf::none);
  std::atomic<bool> done{false};
  std::atomic<size_t> unexpected{0};
  std::atomic<size_t> calls{0};
  auto ok_or_not_started = [&](const caf::error& err) {
    if (err && !(err == errc::not_started))
      ++unexpected;
  };
  std::vector<std::thread> callers;
  for (int t = 0; t < 2; ++t)
    callers.emplace_back([&, t] {
      for (int64_t i = 0; !done; ++i) {
        auto key = i % 1000;
        if (t == 0) {
          ok_or_not_started(inst.put(record::array({key, "v"})));
          ok_or_not_started(inst.put_batch({record::array({key, "w"})}));
        }
        auto xs = inst.get(record::array({key}));
        if (!xs)
          ok_or_not_started(xs.error());
        else if (xs->size() > 1)
          ++unexpected;
        calls += 1;
      }
    });
  for (int round = 0; round < 20; ++round) {
    // Let the callers run some calls against the running cache.
    for (auto until = calls.load() + 200; calls.load() < until;)
      std::this_thread::yield();
    REQUIRE_EQ(inst.stop(), caf::none);
    REQUIRE_EQ(inst.start(opts), caf::none);
  }
  done = true;
  for (auto& t : callers)
    t.join();
  CHECK_EQ(unexpected.load(), 0u);
  CHECK_EQ(inst.stop(), caf::none);
}
