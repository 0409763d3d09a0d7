// Phase 1, the CAF limit: what CAF messaging alone costs on the workload.

#include "bench/phases.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>

#include <caf/event_based_actor.hpp>
#include <caf/response_promise.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>

#include <supercache/messages.hpp>

namespace supercache::bench {

namespace {

/// Asks a counter to reply once it counted `n` records.
using wait_atom = caf::atom_constant<caf::atom("bench_wait")>;

/// State of a counting actor.
struct counter_state {
  uint64_t count = 0;
  uint64_t target = UINT64_MAX;
  caf::response_promise done;
  static inline const char* name = "bench.counter";
};

/// Replies to the waiter (`count`, steady-clock ns) and quits.
void finish(caf::stateful_actor<counter_state>* self) {
  auto& st = self->state;
  st.done.deliver(st.count, to_ns(clock_type::now()));
  self->quit();
}

/// Counts `record` messages; on `(wait_atom, n)` replies `(count, done_ns)`
/// once `n` records arrived, then quits.
caf::behavior counter(caf::stateful_actor<counter_state>* self) {
  return {
    [=](const record&) {
      if (++self->state.count == self->state.target)
        finish(self);
    },
    [=](wait_atom, uint64_t n) {
      auto& st = self->state;
      st.target = n;
      st.done = self->make_response_promise();
      if (st.count >= n)
        finish(self);
      return st.done;
    },
  };
}

} // namespace

json run_caf_limit(caf::actor_system& sys, const workload& w, report& r) {
  std::vector<caf::actor> counters;
  for (size_t p = 0; p < w.producers; ++p)
    counters.push_back(sys.spawn(counter));
  caf::scoped_actor self{sys};
  std::vector<caf::response_handle<caf::blocking_actor, caf::message, true>>
    waits;
  for (size_t p = 0; p < w.producers; ++p)
    waits.push_back(self->request(counters[p], std::chrono::minutes(5),
                                  wait_atom::value,
                                  uint64_t{share_of(p, w.producers,
                                                    w.records)}));
  auto s = run_producers(w.producers, [&](size_t p) {
    auto& hdl = counters[p];
    for_keys(p, w.producers, w.records,
             [&](size_t i) { caf::anon_send(hdl, make_record(i)); });
  });
  uint64_t counted = 0;
  auto end = s.end;
  for (auto& h : waits)
    h.receive(
      [&](uint64_t n, int64_t done_ns) {
        counted += n;
        end = std::max(end, time_point{std::chrono::nanoseconds{done_ns}});
      },
      [&](caf::error& err) {
        r.check(false, "counter: " + sys.render(err));
      });
  for (auto& hdl : counters)
    caf::anon_send_exit(hdl, caf::exit_reason::kill);
  r.check(counted == w.records, "CAF limit counted "
                                  + std::to_string(counted) + " of "
                                  + std::to_string(w.records));
  auto secs = seconds(s.start, end);
  return {{"records", w.records},
          {"seconds", rounded(secs, 4)},
          {"rate", std::llround(rate_of(w.records, secs))}};
}

} // namespace supercache::bench
