#pragma once

/// One supercache bound to one actor system: its buffers, cache partitions,
/// supervisor and (when published) front.
///
/// **Ownership.** The caller owns an `instance` as CAF's middleman is owned
/// by its system: construct it after the `caf::actor_system` and destroy it
/// before (declare it after the system). Its destructor stops it, with the
/// `call-timeout` deadline, so `~actor_system` never waits for its actors.
///
/// **One per system.** Registry names are per system: a second running
/// instance on the same system gets `already_started`. Instances of
/// different systems in one process are independent: records written
/// through one are never stored by another.
///
/// **Calls from inside actors.** On a scheduler worker of its own system
/// (inside any actor's message handler) `lazy_put` never waits: at
/// `max-pending` it returns `overloaded` at once under `block` and drops the
/// record (counted in `dropped`) under `drop-oldest`. `put`, `put_batch`,
/// `get`, `erase`, `clear`, `match` and `for_each` of a local cache never
/// wait for an actor and work there too (but see **Order of put after
/// lazy_put**). The blocking calls (`start`, `connect`, `publish`, every
/// call to a remote cache, `flush`, `stop`, `stats`) return `would_deadlock`
/// there at once;
/// actors send `flush_atom` to the instance's front (`front_name()`) or
/// `put_atom` to a partition instead.
///
/// **Direct writes.** On a local cache `put` and `put_batch` write straight
/// into the partitions' tables from the calling thread, under each table's
/// write lock (as ETS does); no actor is involved. Against a cache node they
/// send one request per partition (deadline `connect-timeout`). On a cache
/// node whose partition has a follower (a copy on another node that rejoined,
/// see the README's "Cluster"), `put`, `put_batch`, `erase` and `clear` of
/// that partition go through its actor instead, which forwards them to the
/// follower: one request (deadline `call-timeout`), refused with
/// `would_deadlock` inside an actor's handler.
///
/// **Order of put after lazy_put.** A `put` or `put_batch` is ordered after
/// every earlier `lazy_put` of the same thread into a local cache: after
/// `lazy_put(k, v1)` then `put(k, v2)`, `get(k)` gives v2, also after a
/// later `flush`. A thread that handed records to its buffer which are still
/// pending first waits for `flush` (deadline `call-timeout`; errors as
/// `flush`); inside an actor's handler it cannot wait and returns
/// `would_deadlock` instead (send `flush_atom` to the front first). A thread
/// that never used `lazy_put`, or whose buffer drained, writes at once.
/// Against a cache node the two are not ordered unless a `flush` returns
/// between them. Writes of other threads are ordered only by time (the last
/// write to take the table's lock wins).
///
/// **Deadlines.** Every blocking call gives up after `call-timeout` with
/// `errc::timeout` naming what did not answer (`connect-timeout` bounds the
/// requests to a remote cache node).
///
/// **Thread safety.** Every member function may be called from any thread
/// concurrently; `start`, `connect` and `stop` are serialized.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/error.hpp>
#include <caf/expected.hpp>

#include <supercache/errc.hpp>
#include <supercache/options.hpp>
#include <supercache/record.hpp>

namespace supercache {

namespace detail {
struct instance_state;
} // namespace detail

/// A supercache bound to one actor system; see the file comment.
class instance {
public:
  // -- constructors, destructors, and assignment operators --------------------

  /// Binds to `sys`; starts nothing.
  explicit instance(caf::actor_system& sys);

  /// Stops the instance if it runs (with the `call-timeout` deadline).
  ~instance();

  instance(const instance&) = delete;
  instance& operator=(const instance&) = delete;

  // -- lifecycle --------------------------------------------------------------

  /// Starts with the `[supercache]` options of `system().config()`.
  caf::error start();

  /// Starts the cache partitions (`cache_1` ...), the supervisor and the
  /// buffers (`buffer_1` ...). Errors: `invalid_option`, `already_started`,
  /// `would_deadlock`, `timeout`.
  caf::error start(const options& opts);

  /// Starts buffers that stream to the cache node at `opts.remote`.
  /// Errors: `already_started`, `invalid_option`, `unreachable`,
  /// `would_deadlock`.
  caf::error connect(const options& opts);

  /// `connect` with the options of `system().config()`.
  caf::error connect();

  /// Publishes the running cache on `host`:`port` (0 picks a free port) for
  /// producer nodes; returns the port. Needs CAF's middleman; TLS and the
  /// loopback rule as for `supercache::publish`. If the cache was started
  /// with a `remote` list, this node is the entry of it with `host` and
  /// `port` (else the only one with `port`; port 0 is refused) and refuses
  /// producers that place it elsewhere (README "Cluster").
  caf::expected<uint16_t> publish(uint16_t port,
                                  const std::string& host = "127.0.0.1");

  /// Stops the buffers (draining every accepted record into the cache), then
  /// the partitions; no actor of this instance and no name stays behind.
  /// Errors: `not_started`, `would_deadlock`, `timeout`, `unreachable`.
  caf::error stop();

  // -- writing and reading ----------------------------------------------------

  /// Hands `x` to the buffer of the calling worker (or thread) and returns
  /// at once. Errors: `not_started`, `invalid_record`, `overloaded`,
  /// `unreachable`, `invalid_option` (called from a thread of another actor
  /// system).
  caf::error lazy_put(record x);

  /// Stores `x` synchronously: visible to `get` when this returns (see
  /// **Direct writes** and **Order of put after lazy_put**). Errors:
  /// `not_started`, `invalid_record`, `would_deadlock`, `timeout`,
  /// `unreachable` (remote).
  caf::error put(record x);

  /// Stores every record of `xs` synchronously, as `put`: all visible when
  /// this returns. Every record is validated before any is written: one bad
  /// record stores none, and its `invalid_record` names its index (0-based).
  /// Each partition's share is written under one lock (against a cache node:
  /// one request per partition; a failing request leaves the shares sent
  /// before it stored).
  caf::error put_batch(std::vector<record> xs);

  /// Returns the records whose key equals the key of `pattern`. From a
  /// remote cache, one reply of at most 64 MiB of records (else
  /// `too_large`, see `match`).
  caf::expected<std::vector<record>> get(const record& pattern);

  /// Replaces the contents of `out` with the records whose key equals the key
  /// of `pattern`, as `get(pattern)`; on an error `out` is left empty. On a
  /// local cache the records are decoded into the ones `out` holds: a loop
  /// that keeps one `out` (and one pattern, changing its key element) makes
  /// no allocation per lookup once the shapes settle (strings reuse their
  /// capacity).
  caf::error get(const record& pattern, std::vector<record>& out);

  /// Returns the number of records stored in all partitions.
  caf::expected<size_t> size();

  /// Hands an erase of `pattern`'s key (the key element as `get` takes it;
  /// for a `bag` every record of the key) to the buffer of the calling
  /// worker (or thread), behind this thread's earlier `lazy_put`s and
  /// `lazy_erase`s, and returns at once: a `lazy_put` then a `lazy_erase` of
  /// one key leaves nothing after `flush`, the reverse leaves the record.
  /// Counted as one operation, like a record (`enqueued`, `written`,
  /// `dropped`, `lost` count both; `erases` counts these). Errors as
  /// `lazy_put`.
  caf::error lazy_erase(const record& pattern);

  /// Removes the records of `pattern`'s key synchronously and returns how
  /// many (a `set`: 0 or 1). Not ordered with lazy writes still on their
  /// way (call `flush` first). Errors: `not_started`, `invalid_record`;
  /// for a remote cache `would_deadlock`, `unreachable`; for a partition
  /// with a follower (see **Direct writes**) `would_deadlock`, `timeout`.
  caf::expected<size_t> erase(const record& pattern);

  /// Removes every record of every partition; returns how many. Errors as
  /// `erase`.
  caf::expected<size_t> clear();

  /// Returns every record whose elements equal `pattern`'s non-null
  /// elements at the same positions (`null` matches anything, also a
  /// missing element; `[]` matches all; see core/pattern.hpp), from all
  /// partitions (one if the pattern fixes the partition element), each
  /// partition a consistent snapshot. Errors: `not_started`,
  /// `invalid_record` (not an array, nested too deep); for a remote cache
  /// `would_deadlock`, `unreachable`, and `too_large` when one partition's
  /// matches take more than 64 MiB as MessagePack (each partition answers
  /// in one message, refused by the node beyond that bound).
  caf::expected<std::vector<record>> match(const record& pattern);

  /// Calls `visitor` with every record, partition by partition, each a
  /// consistent snapshot taken without holding writers back while
  /// `visitor` runs (it may call the instance). From a remote cache each
  /// partition's records arrive as one message (`match` of `[]`). Errors
  /// as `match`.
  caf::error for_each(const std::function<void(const record&)>& visitor);

  /// Returns once every `lazy_put` that returned none before the call is
  /// visible to `get`, or `timeout` after `call-timeout`.
  caf::error flush();

  /// Returns the metrics as one JSON object (see README, Stats).
  caf::expected<nlohmann::json> stats();

  // -- properties -------------------------------------------------------------

  /// Returns the system this instance is bound to.
  caf::actor_system& system() const noexcept;

  /// Returns whether the instance runs (started or connected, not stopped).
  bool running() const noexcept;

  /// Returns the options of the running instance, `buffers` and
  /// `partitions` resolved. Errors: `not_started`.
  caf::expected<options> running_options() const;

  /// Returns the records the cache held when the last `stop` ended it.
  /// Errors: `not_started` if `stop` never completed.
  caf::expected<size_t> last_stop_size() const;

  /// Returns the registry name of the instance's front (`supercache`): an
  /// actor that answers `flush_atom` (every buffer flushed), `size_atom`
  /// and `stats_atom`, for actors of this system.
  static caf::atom_value front_name() noexcept;

  /// Returns the internal state (for the library's own facade and tests).
  detail::instance_state& state() noexcept {
    return *state_;
  }

  /// Returns the internal state as shared with the instance's actors.
  const std::shared_ptr<detail::instance_state>& shared_state() noexcept {
    return state_;
  }

private:
  std::shared_ptr<detail::instance_state> state_;
};

} // namespace supercache
