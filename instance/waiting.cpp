#include "instance/waiting.hpp"

#include <thread>

#include <caf/deep_to_string.hpp>
#include <caf/detail/test_actor_clock.hpp>
#include <caf/exit_reason.hpp>

#include <supercache/errc.hpp>

#include "core/routing.hpp"

namespace supercache::detail {

caf::error refuse_on_worker(const instance_state& st, const char* call) {
  auto where = routing::place(st.id, st.workers, &st.sys.logger());
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

caf::error terminate(caf::actor_system& sys,
                     const std::vector<caf::actor>& hdls, deadline& dl,
                     const char* what) {
  caf::scoped_actor self{sys};
  size_t alive = 0;
  for (auto& hdl : hdls)
    if (hdl) {
      self->monitor(hdl);
      self->send_exit(hdl, caf::exit_reason::user_shutdown);
      ++alive;
    }
  for (; alive > 0; --alive)
    if (!receive_before(self, dl, [](caf::down_msg&) {}))
      return timed_out(std::to_string(alive) + " of the " + what
                         + " (stopping)",
                       dl.timeout());
  return caf::none;
}

} // namespace supercache::detail
