#pragma once

/// supercache: lazy, batched writes into a partitioned cache, on CAF actors.
/// The one header a user includes.
///
/// `supercache::instance` (instance.hpp) is the library: one object per
/// actor system, owned by its caller. The free functions below are the seed
/// API, a thin facade over one default instance that `start(sys)` or
/// `connect(sys)` creates; they fail with `invalid_option` when called from
/// a thread of another actor system than the default instance's.
///
/// Inside an actor's handler `lazy_put` never waits, and the blocking calls
/// return `would_deadlock` (see instance.hpp). Actors that send records in
/// messages include <supercache/messages.hpp>.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/expected.hpp>

#include <supercache/errc.hpp>
#include <supercache/instance.hpp>
#include <supercache/options.hpp>
#include <supercache/record.hpp>

namespace supercache {

/// Declares the `[supercache]` options, the message types and the error
/// category on `cfg`. Call before constructing the `caf::actor_system`.
void configure(caf::actor_system_config& cfg);

/// Starts the cache partitions, then the buffers, with options read from
/// `sys.config()` (which must have been passed to `configure`).
caf::error start(caf::actor_system& sys);

/// Creates the default instance bound to `sys` and starts it (see
/// `instance::start`). `lazy_put` works as soon as this returns.
/// Errors: `invalid_option`, `already_started` (the default instance runs,
/// in this system or another), `would_deadlock`, `timeout`.
caf::error start(caf::actor_system& sys, const options& opts);

/// Enqueues `x` for an asynchronous write; the same as `buffer::enqueue`
/// and `instance::lazy_put` (never waits on a CAF worker).
/// Errors: `not_started`, `invalid_record`, `overloaded` (see `overflow`),
/// `unreachable`, `invalid_option` (from a thread of another system).
caf::error lazy_put(record x);

/// Stores `x` synchronously: visible to `get` when this returns, ordered
/// after this thread's earlier `lazy_put`s (see `instance::put`).
/// Errors: `not_started`, `invalid_record`, `would_deadlock`, `timeout`,
/// `unreachable`.
caf::error put(record x);

/// Stores every record of `xs` synchronously (see `instance::put_batch`):
/// all visible when this returns; a bad record stores none and its error
/// names its index.
caf::error put_batch(std::vector<record> xs);

/// Returns the records whose key equals the key element of `pattern`, from
/// the partition that its partition element picks (SuperCache's `get!/1`).
/// A `set` gives at most one record. Reads the partition's table directly.
caf::expected<std::vector<record>> get(const record& pattern);

/// Replaces the contents of `out` with the records `get(pattern)` returns,
/// decoding into the records `out` holds (no allocation per lookup once the
/// shapes settle); on an error `out` is left empty.
caf::error get(const record& pattern, std::vector<record>& out);

/// Returns the number of records stored in all partitions.
caf::expected<size_t> size();

/// Enqueues an erase of `pattern`'s key, ordered with this thread's lazy
/// writes (`instance::lazy_erase`).
caf::error lazy_erase(const record& pattern);

/// Removes the records of `pattern`'s key; returns how many
/// (`instance::erase`).
caf::expected<size_t> erase(const record& pattern);

/// Removes every record; returns how many (`instance::clear`).
caf::expected<size_t> clear();

/// Returns the records matching `pattern` (`instance::match`).
caf::expected<std::vector<record>> match(const record& pattern);

/// Calls `visitor` with every record (`instance::for_each`).
caf::error for_each(const std::function<void(const record&)>& visitor);

/// Returns once every `lazy_put` that returned none before this call, from any
/// thread, is visible to `get`. Safe to call concurrently with producers.
/// Errors: `not_started`, `would_deadlock`, `timeout` (after
/// `call-timeout`).
caf::error flush();

/// Stops the buffers (draining every accepted record into the cache), then the
/// cache partitions. Afterwards no supercache actor is alive and no supercache
/// name is in the registry, also past `call-timeout` (what did not drain
/// is killed and counted as lost). Errors: `not_started`,
/// `would_deadlock`, `timeout`.
caf::error stop();

/// Returns the metrics of the running instance as a JSON object: totals
/// `records` (stored), `enqueued`, `written`, `rejected`, `dropped`,
/// `pending`, `batches`, `avg_batch`; `latency_us` (`samples`, `p50`, `p99`,
/// `p999`, `max`: 1 in 16 lazy_puts timed from the call until visible to
/// `get`); `buffers`, one object per buffer with its counters; and
/// `partitions`, one per partition with `records`, `bytes`, `batches`.
/// Errors: `not_started`.
caf::expected<nlohmann::json> stats();

/// Publishes the running cache on `host`:`port` over CAF's network layer
/// (`port` 0 picks a free one) for producer nodes to `connect` to; returns
/// the port. Needs `cfg.load<caf::io::middleman>()`. `stop` unpublishes.
/// With CAF's `openssl.certificate`, `openssl.key` and `openssl.cafile` (or
/// `openssl.capath`) set, it listens with TLS and accepts only peers with a
/// certificate from that CA (needs `cfg.load<caf::openssl::manager>()` too);
/// without them only on loopback unless `allow-insecure` is set.
/// Errors: `not_started`, `already_started` (published already),
/// `invalid_option` (no middleman, partial TLS settings or files that do not
/// load, TLS without the openssl manager, a host other than loopback without
/// TLS, the port cannot be bound, or the cache's `remote` list does not name
/// this node: see `instance::publish`).
caf::expected<uint16_t> publish(caf::actor_system& sys, uint16_t port,
                                const std::string& host = "127.0.0.1");

/// Starts buffers in `sys` that stream to the cache node at `opts.remote`
/// (`HOST:PORT`) instead of local partitions. Then `lazy_put`, `put`,
/// `flush`, `get`, `size`, `stats` and `stop` work as with `start`, against
/// the remote cache; `stop` leaves the remote cache running. Needs
/// `cfg.load<caf::io::middleman>()`; over TLS when CAF's `[openssl]` keys
/// are set (as for `publish`). Errors: `already_started`,
/// `invalid_option` (bad options, no middleman, TLS settings as for
/// `publish`, a `key-pos` or `partition-pos` different from the cache
/// node's), `unreachable` (no connection, a refused TLS handshake, or no
/// answer within `connect-timeout`, also from a host that drops packets or a
/// listener that never answers). Once the node goes away, every call fails
/// with `unreachable`.
caf::error connect(caf::actor_system& sys, const options& opts);

/// `connect` with the options read from `sys.config()`.
caf::error connect(caf::actor_system& sys);

/// Returns the number of records the cache held when the last `stop` ended
/// it, after draining the buffers (e.g. for a shutdown report).
/// Errors: `not_started` if `stop` never completed.
caf::expected<size_t> last_stop_size();

/// Returns whether the library was built to link mimalloc
/// (`SUPERCACHE_ALLOCATOR=mimalloc`, the default).
bool mimalloc_linked() noexcept;

/// Returns the malloc in effect in this process: `"mimalloc"` or `"system"`.
const char* allocator() noexcept;

/// Makes mimalloc, if linked, give the pages of freed memory back to the OS
/// at once (its `decommit_delay` 0, process-wide) rather than marking them
/// `MADV_FREE`, which the kernel takes back only under memory pressure;
/// returns whether it did. Left alone if `MIMALLOC_DECOMMIT_DELAY` or
/// `MIMALLOC_RESET_DELAY` is set (the operator's choice). For a program
/// whose cache evicts (`max-records`): evicted records' pages otherwise stay
/// in its RSS. It costs the write path (README "Expiry and size bound");
/// the library never calls it, `supercache-node` does with `max-records`.
bool return_freed_pages() noexcept;

/// Returns the options of the running instance, with `buffers` and
/// `partitions` resolved. Errors: `not_started`.
caf::expected<options> running_options();

namespace buffer {

/// Starts `n` buffers (`buffer_1` ... `buffer_n`) on the default instance's
/// running cache. Errors: `invalid_option` (`n` of 0 or above 999, or `sys`
/// is not the default instance's system), `not_started`, `already_started`.
caf::error start(caf::actor_system& sys, size_t n);

/// Enqueues `x` into the default instance: the same as `lazy_put`.
caf::error enqueue(record x);

/// Stops the default instance's buffers, draining every accepted record
/// into the cache; the cache keeps running. Errors: `not_started`.
caf::error stop();

/// Returns the registry name of buffer `id` (1-based): `name(1) ==
/// caf::atom("buffer_1")`; the empty atom for ids of 0 or above 999.
caf::atom_value name(size_t id);

} // namespace buffer

/// Returns the registry name of cache partition `id` (1-based): `cache_1`
/// ... `cache_999`; the empty atom for ids out of range.
caf::atom_value cache_name(size_t id);

/// Returns the default instance, or null before the first `start(sys)` or
/// `connect(sys)`.
instance* default_instance() noexcept;

} // namespace supercache
