#pragma once

/// How the instance's blocking calls wait: always with a deadline, never on
/// a worker of their own system, and under CAF's test coordinator by running
/// the scheduler themselves (simulated time advances in 1 ms steps, so only
/// timers due within the call's deadline fire).

#include <chrono>
#include <optional>
#include <utility>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/after.hpp>
#include <caf/error.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/timespan.hpp>

#include <supercache/errc.hpp>

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

/// Returns whether `err` is ours and not `errc::unreachable`: an answer
/// (e.g. `invalid_record`) that another copy would give as well.
inline bool is_answer(const caf::error& err) {
  return err.category() == error_category
         && err.code() != static_cast<uint8_t>(errc::unreachable);
}

/// Returns whether the actor `hdl` is gone already, without waiting: a
/// proxy of a node whose link broke is terminated, and CAF 0.17 drops a
/// request to it without an answer, so the request would only time out.
/// (Monitoring a terminated actor queues its `down_msg` at once.)
inline bool gone(caf::scoped_actor& self, const caf::actor& hdl) {
  if (!hdl)
    return true;
  self->monitor(hdl);
  bool down = false;
  self->receive(
    [&](caf::down_msg& x) { down = x.source == hdl.address(); },
    caf::after(caf::timespan{0}) >> [] {});
  if (!down)
    self->demonitor(hdl);
  return down;
}

/// Asks `hdl`, a partition on node `node` of the remote cache `cache`, with
/// `xs...` (deadline `connect-timeout`) and returns its answer as `T`, or
/// the error as `remote_error` words it, naming the node.
template <class T, class... Ts>
caf::expected<T> ask_node(instance_state& st, const cache_view& cache,
                          size_t node, const caf::actor& hdl,
                          const Ts&... xs) {
  caf::scoped_actor self{st.sys};
  if (gone(self, hdl))
    return make_error(errc::unreachable,
                      "the cache node at "
                        + (node < cache.nodes.size() ? cache.nodes[node]
                                                     : cache.peer)
                        + " went away");
  caf::expected<T> result{T{}};
  self->request(hdl, cache.opts.connect_timeout, xs...)
    .receive([&](T& x) { result = std::move(x); },
             [&](caf::error& err) {
               result = remote_error(cache, node, err);
             });
  return result;
}

/// Returns the copies of partition `p` of a remote cache with the index of
/// their node: those `connect` found, primary first, or (`taken_back`)
/// those the buffers took back since (core/rejoined.hpp).
inline std::vector<std::pair<size_t, caf::actor>>
copies_of(const cache_view& cache, size_t p, bool taken_back) {
  std::vector<std::pair<size_t, caf::actor>> result;
  if (!taken_back) {
    for (size_t i = 0; i < cache.copies[p].size(); ++i)
      result.emplace_back(cache.copy_nodes[p][i], cache.copies[p][i]);
  } else if (cache.rejoined) {
    for (auto& x : cache.rejoined->of(p))
      result.emplace_back(cache.node_index(x.node), x.hdl);
  }
  return result;
}

/// Asks the copies of partition `p` of a remote cache in turn, primary
/// first, then those taken back after `connect`, and returns the first
/// answer (a read): a copy whose node is gone is skipped; an answer that is
/// an error of ours (e.g. `invalid_record`) is returned as it is.
template <class T, class... Ts>
caf::expected<T> ask_partition(instance_state& st, const cache_view& cache,
                               size_t p, const Ts&... xs) {
  caf::expected<T> result{caf::error{}};
  for (auto taken_back : {false, true})
    for (auto& [node, hdl] : copies_of(cache, p, taken_back)) {
      result = ask_node<T>(st, cache, node, hdl, xs...);
      if (result || is_answer(result.error()))
        return result;
    }
  return result;
}

/// Sends `xs...` to every copy of partition `p` of a remote cache (a
/// write) and returns the answer of the first copy that answered; fails
/// if none did, or with the first error of ours a copy answered. Copies
/// taken back after `connect` are written only if no other copy answered:
/// they get the writes through the copy they follow while that one answers
/// (they would apply them twice otherwise).
template <class T, class... Ts>
caf::expected<T> tell_partition(instance_state& st, const cache_view& cache,
                                size_t p, const Ts&... xs) {
  if (!cache.read_only.empty())
    return make_error(errc::invalid_option, cache.read_only);
  std::optional<T> first;
  caf::error last;
  for (auto taken_back : {false, true}) {
    if (first)
      break;
    for (auto& [node, hdl] : copies_of(cache, p, taken_back)) {
      auto x = ask_node<T>(st, cache, node, hdl, xs...);
      if (x) {
        if (!first)
          first = std::move(*x);
      } else if (is_answer(x.error())) {
        return std::move(x.error());
      } else {
        last = std::move(x.error());
      }
    }
  }
  if (first)
    return std::move(*first);
  return last;
}

/// Returns `errc::timeout` for `what` after `timeout`.
caf::error timed_out(const std::string& what, caf::timespan timeout);

/// Sends `xs...` to `hdl`, a partition of this instance's own cache whose
/// table has followers (`table::follow`), and waits for its answer as `T`
/// (deadline `call-timeout`): a synchronous write goes through the partition
/// then, which forwards what it applies. Refused on a scheduler worker
/// (`call` names the call), as a remote cache's writes are.
template <class T, class... Ts>
caf::expected<T> ask_owner(instance_state& st, const caf::actor& hdl,
                           const char* call, const Ts&... xs) {
  if (auto err = refuse_on_worker(st, call))
    return err;
  // A table has followers only on a cache node of a cluster, whose
  // scheduler is a real one: the partition answers while this thread waits.
  caf::scoped_actor self{st.sys};
  caf::expected<T> result{caf::error{}};
  self->request(hdl, st.call_timeout, xs...)
    .receive([&](T& x) { result = std::move(x); },
             [&](caf::error& err) {
               result = err == caf::sec::request_timeout
                          ? timed_out(call, st.call_timeout)
                          : std::move(err);
             });
  return result;
}

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
