#pragma once

/// The one ingress decision: what happens to a record offered to a buffer,
/// shared by `lazy_put`/`buffer::enqueue` (on the producer's thread) and a
/// buffer's `(put_atom, record)` handler (in the buffer).

#include <cstddef>
#include <cstdint>

#include <caf/error.hpp>

#include <supercache/options.hpp>
#include <supercache/record.hpp>

#include "actors/messages.hpp"
#include "core/buffer_counters.hpp"
#include "core/latency.hpp"

namespace supercache {

/// The outcome of offering a record to a buffer.
enum class admission : uint8_t {
  /// Take it: count it as enqueued and queue it.
  accept,
  /// Refuse it with `errc::overloaded` (count it as rejected).
  reject,
  /// Accept it and drop it at once (count it as enqueued and dropped).
  drop,
  /// Wait for room, then offer it again (only if the caller may wait).
  wait,
};

/// Decides on a record for a buffer with `counters` at `max_pending` under
/// `policy`. `may_wait` is false on a scheduler worker and in the buffer
/// itself: then `block` rejects and `drop-oldest` drops instead of waiting.
/// Under `drop-oldest` a buffer drops its own oldest records while more than
/// `max_pending` are pending; producers wait (or drop) only at twice that.
inline admission admit(const buffer_counters& counters, size_t max_pending,
                       overflow_policy policy, bool may_wait) noexcept {
  auto limit = policy == overflow_policy::drop_oldest ? 2 * max_pending
                                                      : max_pending;
  if (counters.pending() < limit)
    return admission::accept;
  if (policy == overflow_policy::reject || !may_wait)
    return policy == overflow_policy::drop_oldest ? admission::drop
                                                  : admission::reject;
  return admission::wait;
}

/// Validates `x` and packs it into `out` with its partition (of
/// `partitions`); 1 in `latency_sample_every` entries of the calling thread
/// carries its enqueue time. Errors: `invalid_record`.
inline caf::error make_entry(const record& x, const record_layout& layout,
                             size_t partitions, entry& out) {
  if (auto err = validate(x, layout))
    return err;
  auto [value, hash] = packed::pack(x, layout);
  out.partition = partition_index(hash, partitions);
  out.value = std::move(value);
  thread_local uint32_t sample_countdown = 0;
  if (sample_countdown-- == 0) {
    sample_countdown = latency_sample_every - 1;
    out.enqueued_ns = steady_ns();
  }
  return caf::none;
}

} // namespace supercache
