#pragma once

/// A buffer: the actor whose mailbox queues records on their way to the cache.
///
/// **Messages.**
/// - `(entry)`, from `lazy_put`/`buffer::enqueue` (already validated, with
///   its partition computed on the producer's thread): queued; no reply.
/// - `(put_atom, record)`, from any actor (by registry name `buffer_N`):
///   validated and queued; replies `ok_atom`, `errc::invalid_record`, or
///   `errc::not_started` once the buffer is stopping.
/// - `(flush_atom)`, from `flush` or any actor: replies `ok_atom` once every
///   record this buffer received before it is visible in the cache.
/// - `(stop_atom)`, from `buffer::stop`: drains like a flush, replies
///   `ok_atom`, then terminates.
/// - `(flushed_atom, id)`, from the cache partitions: barrier acknowledgments.
///
/// **Streaming.** A continuous stream stage with one outbound path per cache
/// partition (`partitioned_output`) carries records in batches; batch size and
/// delay follow CAF's `stream.*` settings. A flush pushes a barrier behind the
/// queued records on every path and answers when every partition has
/// acknowledged it: CAF delivers a path's batches in order, so the barrier
/// arrives after the records before it.
///
/// **Order and loss.** Records from one sender are streamed in the order they
/// arrived; each goes to exactly one partition. A record in the mailbox or in
/// the stage is delivered unless a partition dies: then pending flushes fail
/// with the partition's exit reason and the buffer terminates with it.
///
/// **Capacity.** Unbounded in this version: the mailbox and the stage's queues
/// grow while producers outpace the cache.
///
/// **Stopping.** On `(stop_atom)` the buffer answers further `put_atom`s with
/// `not_started`, drains, replies and quits; CAF then closes the streams
/// gracefully. `buffer::stop` makes sure no `lazy_put` is still sending.

#include <cstdint>
#include <unordered_map>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/response_promise.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/stream_stage.hpp>

#include "actors/messages.hpp"
#include "actors/partitioned_output.hpp"
#include "actors/record.hpp"

namespace supercache {

/// State of a buffer actor.
struct buffer_state {
  /// Downstream manager of the stage: one queue and path per partition.
  using output = partitioned_output<entry>;

  /// A flush waiting for the acknowledgments of its barrier.
  struct pending_flush {
    /// Partitions that have not acknowledged the barrier yet.
    size_t acks_left = 0;

    /// Requests to answer once the barrier is acknowledged.
    caf::response_promise reply;

    /// Whether the buffer terminates after answering.
    bool stop = false;
  };

  /// The stream stage that carries records to the partitions.
  caf::stream_stage_ptr<entry, output> stage;

  /// The cache partitions, by index.
  std::vector<caf::actor> partitions;

  /// Where records keep their key and partition element.
  record_layout layout;

  /// Id of the next barrier.
  uint64_t next_barrier = 1;

  /// Flushes waiting for acknowledgments, by barrier id.
  std::unordered_map<uint64_t, pending_flush> flushes;

  /// Set by `stop_atom`: the buffer takes no more `put_atom`s.
  bool stopping = false;

  static inline const char* name = "supercache.buffer";
};

/// Returns the behavior of a buffer streaming into `partitions`.
caf::behavior buffer_actor(caf::stateful_actor<buffer_state>* self,
                           std::vector<caf::actor> partitions,
                           record_layout layout);

namespace buffer {

/// Starts `n` buffers (`buffer_1` ... `buffer_n`) streaming into the running
/// cache. Errors: `invalid_option` for `n` of 0 or above 999, `not_started`
/// without a running cache, `already_started` if buffers run.
caf::error start(caf::actor_system& sys, size_t n);

/// Enqueues `x` into the buffer of the calling scheduler worker (or thread).
/// Returns none once the record is accepted: it will be visible after the next
/// `flush` or `stop`. Errors: `not_started`, `invalid_record` (then the record
/// reaches no actor). Never blocks; safe from any thread.
caf::error enqueue(record x);

/// Stops the buffers, draining every accepted record into the cache; the
/// cache keeps running. `enqueue` returns `not_started` from the moment this
/// is called. Errors: `not_started` if no buffers run.
caf::error stop();

/// Returns the registry name of buffer `id` (1-based): `name(1) ==
/// caf::atom("buffer_1")`; the empty atom for ids of 0 or above 999.
caf::atom_value name(size_t id);

} // namespace buffer

} // namespace supercache
