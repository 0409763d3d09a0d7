#include "instance/waiting.hpp"

#include <algorithm>
#include <thread>

#include <caf/deep_to_string.hpp>
#include <caf/detail/test_actor_clock.hpp>
#include <caf/exit_reason.hpp>

#include <supercache/errc.hpp>

#include "core/routing.hpp"

namespace supercache::detail {

caf::error refuse_on_worker(const instance_state& st, const char* call) {
  auto where = routing::place(st.id, st.workers, st.logger);
  if (!where.own_worker && !where.foreign)
    return caf::none;
  return make_error(errc::would_deadlock,
                    std::string{call}
                      + " blocks, and was called on a CAF scheduler worker "
                        "(inside an actor's handler): send a message instead "
                        "(flush_atom to the front, put_atom to a partition)");
}

caf::scheduler::test_coordinator* test_coordinator_of(caf::actor_system& sys) {
  return dynamic_cast<caf::scheduler::test_coordinator*>(&sys.scheduler());
}

deadline::deadline(caf::actor_system& sys, caf::timespan timeout)
  : tc_(test_coordinator_of(sys)),
    timeout_(timeout),
    real_(std::chrono::steady_clock::now() + timeout) {
  if (tc_ != nullptr)
    simulated_ = tc_->clock().now() + timeout;
}

bool deadline::expired() const {
  if (tc_ != nullptr)
    return tc_->clock().now() >= simulated_;
  return std::chrono::steady_clock::now() >= real_;
}

caf::timespan deadline::left() const {
  if (tc_ != nullptr)
    return caf::timespan{0};
  auto now = std::chrono::steady_clock::now();
  if (now >= real_)
    return caf::timespan{0};
  return std::chrono::duration_cast<caf::timespan>(real_ - now);
}

bool deadline::pump(caf::scoped_actor& self) {
  if (tc_ == nullptr)
    return true;
  while (self->mailbox().empty()) {
    if (tc_->try_run_once())
      continue;
    if (expired())
      return false;
    tc_->clock().advance_time(std::chrono::milliseconds(1));
  }
  return true;
}

void deadline::back_off(size_t attempt) {
  if (tc_ != nullptr) {
    if (!tc_->try_run_once())
      tc_->clock().advance_time(std::chrono::milliseconds(1));
    return;
  }
  if (attempt < 64) {
    std::this_thread::yield();
    return;
  }
  auto us = std::min<int64_t>(1000, 10 * static_cast<int64_t>(attempt - 63));
  std::this_thread::sleep_for(std::chrono::microseconds(us));
}

caf::error timed_out(const std::string& what, caf::timespan timeout) {
  return make_error(errc::timeout, what + " did not answer within "
                                     + caf::deep_to_string(timeout)
                                     + " (call-timeout)");
}

namespace {

/// Sends `reason` to `hdls` and waits before `dl` until they are down;
/// returns the addresses of those still alive.
std::vector<caf::actor_addr> exit_and_wait(caf::actor_system& sys,
                                           const std::vector<caf::actor>& hdls,
                                           caf::exit_reason reason,
                                           deadline& dl) {
  caf::scoped_actor self{sys};
  std::vector<caf::actor_addr> alive;
  for (auto& hdl : hdls)
    if (hdl) {
      self->monitor(hdl);
      self->send_exit(hdl, reason);
      alive.push_back(hdl.address());
    }
  while (!alive.empty()) {
    auto got = receive_before(self, dl, [&](caf::down_msg& down) {
      alive.erase(std::remove(alive.begin(), alive.end(), down.source),
                  alive.end());
    });
    if (!got)
      break;
  }
  return alive;
}

} // namespace

void terminate_now(caf::actor_system& sys, const std::vector<caf::actor>& hdls,
                   deadline& dl) {
  exit_and_wait(sys, hdls, caf::exit_reason::kill, dl);
}

caf::error terminate(caf::actor_system& sys,
                     const std::vector<caf::actor>& hdls, deadline& dl,
                     const char* what) {
  auto alive = exit_and_wait(sys, hdls, caf::exit_reason::user_shutdown, dl);
  if (alive.empty())
    return caf::none;
  // Past the deadline: kill what is left, so that nothing outlives the
  // instance and `~actor_system` never waits for it.
  std::vector<caf::actor> rest;
  for (auto& hdl : hdls)
    if (hdl && std::find(alive.begin(), alive.end(), hdl.address())
                 != alive.end())
      rest.push_back(hdl);
  deadline grace{sys, kill_grace};
  terminate_now(sys, rest, grace);
  return timed_out(std::to_string(alive.size()) + " of the " + what
                     + " (stopping)",
                   dl.timeout());
}

} // namespace supercache::detail
