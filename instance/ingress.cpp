// The instance's ingress path (`lazy_put`), `size` and `flush` (`put`,
// `put_batch` and `get` are in sync.cpp).

#include <supercache/instance.hpp>

#include <caf/send.hpp>

#include <supercache/supercache.hpp>

#include "actors/messages.hpp"
#include "core/admission.hpp"
#include "core/routing.hpp"
#include "instance/waiting.hpp"

namespace supercache {

using namespace detail;

namespace {

caf::error overloaded(const instance_state& st, size_t index) {
  return make_error(errc::overloaded,
                    caf::to_string(buffer::name(index + 1))
                      + " holds max-pending = "
                      + std::to_string(st.max_pending) + " records");
}

} // namespace

caf::error instance::lazy_put(record x) {
  return offer(*state_, x, false);
}

caf::error detail::offer(instance_state& st, const record& x, bool erase) {
  auto where = routing::place(st.id, st.workers, st.logger);
  // A worker (of any system) never waits: it would hold up the actors that
  // make room, perhaps the very buffer it waits for.
  auto may_wait = !where.own_worker && !where.foreign;
  entry e;
  std::optional<deadline> dl;
  for (size_t attempt = 0;; ++attempt) {
    {
      gate::pass pass{st.buffer_gate};
      if (!pass.admitted())
        return make_error(errc::not_started);
      if (!st.read_only.empty())
        return make_error(errc::invalid_option, st.read_only);
      if (attempt == 0)
        if (auto err = make_entry(x, st.layout, st.partitions, e))
          return err;
      e.erase = erase;
      auto index = where.lane % st.num_buffers;
      auto& ctr = *st.counters->slots[index];
      if (ctr.unreachable.load(std::memory_order_acquire))
        return make_error(errc::unreachable,
                          ctr.failure_reason
                            + "; records accepted since the last flush may "
                              "be lost (see stats: lost)");
      auto decision = admit(ctr, st.max_pending, st.overflow, may_wait);
      if (decision == admission::wait) {
        if (!dl)
          dl.emplace(st.sys, st.overflow == overflow_policy::block
                               ? st.block_timeout
                               : st.call_timeout);
        else if (dl->expired())
          decision = st.overflow == overflow_policy::block ? admission::reject
                                                           : admission::drop;
      }
      switch (decision) {
        case admission::accept:
          ctr.enqueued.fetch_add(1, std::memory_order_relaxed);
          if (erase)
            ctr.erases.fetch_add(1, std::memory_order_relaxed);
          caf::anon_send(st.buffers[index], std::move(e));
          note_lazy_put(st);
          return caf::none;
        case admission::reject:
          ctr.rejected.fetch_add(1, std::memory_order_relaxed);
          return overloaded(st, index);
        case admission::drop:
          ctr.dropped.fetch_add(1, std::memory_order_relaxed);
          ctr.enqueued.fetch_add(1, std::memory_order_relaxed);
          if (erase)
            ctr.erases.fetch_add(1, std::memory_order_relaxed);
          return caf::none;
        case admission::wait:
          break;
      }
    }
    // Wait outside the gate, so that `stop` never waits for a blocked call.
    dl->back_off(attempt);
  }
}

caf::expected<size_t> instance::size() {
  auto& st = *state_;
  auto cache = st.load();
  if (!cache)
    return make_error(errc::not_started);
  if (cache->remote) {
    if (auto err = refuse_on_worker(st, "size of a remote cache"))
      return err;
    return remote_size(st, *cache);
  }
  size_t result = 0;
  for (auto& tbl : cache->tables)
    result += tbl->size();
  return result;
}

caf::error instance::flush() {
  auto& st = *state_;
  if (auto err = refuse_on_worker(st, "flush"))
    return err;
  // Not running: answer without touching the system (a stopped instance
  // may outlive it).
  if (!st.buffers_running)
    return make_error(errc::not_started);
  deadline dl{st.sys, st.call_timeout};
  size_t n = 0;
  for (size_t attempt = 0;; ++attempt) {
    {
      gate::pass pass{st.buffer_gate};
      if (pass.admitted()) {
        n = st.num_buffers;
        break;
      }
    }
    // Closed: the buffers stopped, or one is being replaced.
    if (!st.buffers_running)
      return make_error(errc::not_started);
    if (dl.expired())
      return timed_out("the buffers (being replaced)", st.call_timeout);
    dl.back_off(attempt);
  }
  caf::scoped_actor self{st.sys};
  for (size_t i = 0; i < n; ++i) {
    // A buffer that dies before it answers is replaced under the same
    // index; the replacement's flush covers what the dead one shipped.
    caf::actor dead;
    for (size_t attempt = 0;; ++attempt) {
      caf::actor hdl;
      {
        gate::pass pass{st.buffer_gate};
        if (pass.admitted() && i < st.num_buffers)
          hdl = st.buffers[i];
      }
      if (!hdl || hdl == dead) {
        if (!hdl && !st.buffers_running)
          return make_error(errc::not_started,
                            "the buffers stopped during flush");
        if (dl.expired())
          return timed_out(caf::to_string(buffer::name(i + 1)),
                           st.call_timeout);
        dl.back_off(attempt); // a replacement is on its way
        continue;
      }
      self->monitor(hdl);
      self->send(hdl, caf::flush_atom::value);
      bool answered = false;
      caf::error failed;
      while (!answered && dead != hdl) {
        auto got = receive_before(
          self, dl, [&](caf::ok_atom) { answered = true; },
          [&](caf::error& err) {
            failed = std::move(err);
            answered = true;
          },
          [&](caf::down_msg& down) {
            if (down.source == hdl.address())
              dead = hdl; // died before answering: ask its replacement
          });
        if (!got)
          return timed_out(caf::to_string(buffer::name(i + 1)),
                           st.call_timeout);
      }
      self->demonitor(hdl);
      if (failed)
        return failed;
      if (answered)
        break;
    }
  }
  return caf::none;
}

} // namespace supercache
