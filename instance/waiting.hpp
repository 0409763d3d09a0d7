#pragma once

/// How the instance's blocking calls wait: always with a deadline, never on
/// a worker of their own system, and under CAF's test coordinator by running
/// the scheduler themselves (simulated time advances in 1 ms steps, so only
/// timers due within the call's deadline fire).

#include <chrono>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/after.hpp>
#include <caf/error.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/timespan.hpp>

#include "instance/state.hpp"

namespace supercache::detail {

/// Returns `would_deadlock` naming `call` if the calling thread is a
/// scheduler worker (of this instance's system or of another), else none.
caf::error refuse_on_worker(const instance_state& st, const char* call);

/// Returns the test coordinator of `sys`, or null.
caf::scheduler::test_coordinator* test_coordinator_of(caf::actor_system& sys);

/// A deadline for one blocking call: real time, or simulated time under the
/// test coordinator.
class deadline {
public:
  deadline(caf::actor_system& sys, caf::timespan timeout);

  /// Returns whether the deadline passed.
  bool expired() const;

  /// Returns the real time left (zero under the test coordinator).
  caf::timespan left() const;

  /// Under the test coordinator: runs jobs and advances simulated time until
  /// `self` has mail or the deadline passed; returns whether it has mail.
  /// Otherwise returns true at once (the receive waits itself).
  bool pump(caf::scoped_actor& self);

  /// Runs one job or advances time once (test coordinator), else waits a
  /// little (yields, then sleeps up to 1 ms); for polling loops.
  void back_off(size_t attempt);

  caf::timespan timeout() const noexcept {
    return timeout_;
  }

private:
  caf::scheduler::test_coordinator* tc_;
  caf::timespan timeout_;
  std::chrono::steady_clock::time_point real_;
  caf::actor_clock::time_point simulated_;
};

/// Receives one message matching `fs` into `self` before `dl` passes;
/// returns false on expiry.
template <class... Fs>
bool receive_before(caf::scoped_actor& self, deadline& dl, Fs... fs) {
  if (!dl.pump(self))
    return false;
  bool got = true;
  self->receive(fs..., caf::after(dl.left()) >> [&] { got = false; });
  return got;
}

/// Asks partition `hdl` of the remote cache `cache` with `xs...` (deadline
/// `connect-timeout`) and returns its answer as `T`, or the error as
/// `remote_error` words it.
template <class T, class... Ts>
caf::expected<T> ask_remote(instance_state& st, const cache_view& cache,
                            const caf::actor& hdl, Ts&&... xs) {
  caf::scoped_actor self{st.sys};
  caf::expected<T> result{T{}};
  self->request(hdl, cache.opts.connect_timeout, std::forward<Ts>(xs)...)
    .receive([&](T& x) { result = std::move(x); },
             [&](caf::error& err) { result = remote_error(cache, err); });
  return result;
}

/// Returns `errc::timeout` for `what` after `timeout`.
caf::error timed_out(const std::string& what, caf::timespan timeout);

/// How long `terminate` waits for actors it killed after the deadline.
constexpr caf::timespan kill_grace = std::chrono::seconds(5);

/// Sends `hdls` an exit with `user_shutdown` and waits (before `dl`) until
/// they are gone; past `dl` it kills the rest, waits up to `kill_grace` for
/// them and returns `timeout`.
caf::error terminate(caf::actor_system& sys, const std::vector<caf::actor>& hdls,
                     deadline& dl, const char* what);

/// Kills `hdls` and waits before `dl` until they are down.
void terminate_now(caf::actor_system& sys, const std::vector<caf::actor>& hdls,
                   deadline& dl);

} // namespace supercache::detail
