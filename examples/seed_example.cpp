/// The Examples section of SuperCache.Buffer (the Elixir module this project
/// ports) as a program: start the buffers, enqueue records, watch a bad record
/// get rejected, flush, read everything back, stop, and see `lazy_put` refused
/// once nothing runs.
///
/// Run it from the repository root so that `caf-application.conf` is found:
///
///   ./build/examples/seed_example
///   ./build/examples/seed_example --scheduler.max-threads=2
///   ./build/examples/seed_example --supercache.buffers=3
///
/// The Elixir original, next to each step:
///
///   SuperCache.Buffer.start(System.schedulers_online())   # step 1
///   SuperCache.Buffer.enqueue({:user, 1, "Alice"})        # step 2
///   SuperCache.Buffer.stop()                              # step 7

#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scheduler/abstract_coordinator.hpp>

#include <supercache/supercache.hpp>

using supercache::errc;
using supercache::record;

namespace {

// -- helpers ------------------------------------------------------------------

/// Prints `what` and the rendered `err` to stderr; returns exit status 1.
int fail(const std::string& what, const caf::error& err) {
  std::cerr << "error: " << what << ": " << supercache::render(err) << '\n';
  return 1;
}

/// Renders the result of a write, e.g. `ok` or `supercache::not_started`.
std::string outcome(const caf::error& err) {
  return err ? supercache::render(err) : "ok";
}

/// Builds a user record. The seed writes `{:user, 1, "Alice"}`, but with the
/// default `key-pos=0` its key would be `:user` for *every* user, and a `set`
/// table keeps one record per key: the last user would win. So the id goes
/// first (`[1, "user", "Alice"]`): key and partition element are the id, as in
/// `SuperCache.start!(key_pos: 0, partition_pos: 0)` with `{1, :user, ...}`.
record user(int id, const char* name) {
  // `record::array` rather than `record{...}`: nlohmann reads a braced list of
  // two elements whose first one is a string as a JSON *object*.
  return record::array({id, "user", name});
}

/// The `get` pattern of user `id`: only the key position matters, like the
/// Elixir pattern `{1, nil, nil}`.
record pattern(int id) {
  return record::array({id, nullptr, nullptr});
}

/// Reads user `expected` back with `get`; returns whether exactly that record
/// is stored under its key.
bool read_back(const record& expected) {
  auto id = expected[0].get<int>();
  auto found = supercache::get(pattern(id));
  if (!found) {
    std::cerr << "error: get " << pattern(id).dump() << ": "
              << supercache::render(found.error()) << '\n';
    return false;
  }
  std::cout << "    get " << pattern(id).dump() << " -> "
            << record(*found).dump() << '\n';
  if (found->size() != 1 || found->front() != expected) {
    std::cerr << "error: expected [" << expected.dump() << "]\n";
    return false;
  }
  return true;
}

/// Calls `supercache::stop` on scope exit unless it ran already, so that an
/// early return never leaves registered actors behind (they would make
/// `~actor_system` wait forever).
struct stop_guard {
  ~stop_guard() {
    static_cast<void>(supercache::stop()); // not_started if stopped: fine
  }
};

// -- the example --------------------------------------------------------------

int run(caf::actor_system& sys) {
  // 1. Start. The seed's `SuperCache.Buffer.start(System.schedulers_online())`
  //    becomes `supercache::start(sys)`: it starts the cache partitions, then
  //    one buffer per scheduler worker (unless `supercache.buffers` says
  //    otherwise), and registers them as `cache_P` and `buffer_N`.
  std::cout << "[1] start\n";
  if (auto err = supercache::start(sys))
    return fail("supercache::start", err);
  stop_guard guard;
  auto opts = supercache::running_options();
  if (!opts)
    return fail("supercache::running_options", opts.error());
  std::cout << "    " << sys.scheduler().num_workers()
            << " scheduler workers -> " << opts->buffers
            << " buffers (buffer_1..buffer_" << opts->buffers << "), "
            << opts->partitions << " cache partitions (cache_1..cache_"
            << opts->partitions << "), key-pos " << opts->key_pos
            << ", partition-pos " << opts->partition_pos << ", table \""
            << supercache::to_string(opts->type) << "\"\n";
  // This example's records keep their key at position 0 (see `user`).
  if (opts->key_pos != 0 || opts->partition_pos != 0)
    return fail("options", supercache::make_error(
                             errc::invalid_option,
                             "this example needs key-pos=0 and "
                             "partition-pos=0 (the defaults)"));

  // 2. Enqueue. `buffer::enqueue` is the seed's `SuperCache.Buffer.enqueue`;
  //    `lazy_put` (SuperCache.lazy_put/1) is the same call under its public
  //    name. Both route the record to the buffer of the calling thread and
  //    return at once: `ok` means "accepted", not yet "visible to get".
  std::cout << "[2] enqueue records (asynchronous writes)\n";
  std::vector<record> stored; // every record accepted so far
  auto note = [&](const char* how, const record& x, const caf::error& err) {
    std::cout << "    " << how << ' ' << x.dump() << " -> " << outcome(err)
              << '\n';
    if (!err)
      stored.push_back(x);
    return err;
  };
  auto alice = user(1, "Alice");
  if (auto err = note("enqueue", alice, supercache::buffer::enqueue(alice)))
    return fail("buffer::enqueue", err);
  for (auto x : {user(2, "Bob"), user(3, "Carol")})
    if (auto err = note("lazy_put", x, supercache::lazy_put(x)))
      return fail("lazy_put", err);

  // 3. A bad record. Records are JSON arrays (the port of Elixir tuples) with
  //    an element at key-pos and partition-pos. Anything else is rejected on
  //    the caller's thread with `invalid_record` and reaches no actor.
  std::cout << "[3] lazy_put bad records (rejected before any actor sees "
               "them)\n";
  for (auto bad : {record{{"id", 4}, {"name", "Mallory"}}, record::array()}) {
    auto shown = bad.dump();
    auto err = supercache::lazy_put(std::move(bad));
    std::cout << "    lazy_put " << shown << " -> " << outcome(err) << '\n';
    if (err != errc::invalid_record)
      return fail("expected invalid_record for " + shown, err);
  }

  // 4. Flush: returns once every record accepted before the call is visible.
  std::cout << "[4] flush\n";
  if (auto err = supercache::flush())
    return fail("supercache::flush", err);
  std::cout << "    ok: every accepted record is in the cache\n";

  // 5. Read back: `get` reads the partition's table directly (no message).
  std::cout << "[5] get each record back\n";
  for (auto& x : stored)
    if (!read_back(x))
      return 1;
  auto n = supercache::size();
  if (!n)
    return fail("supercache::size", n.error());
  std::cout << "    size() -> " << *n << '\n';
  if (*n != stored.size()) {
    std::cerr << "error: expected size " << stored.size() << '\n';
    return 1;
  }

  // 6. More writes, deliberately *not* flushed: step 7 must not lose them.
  std::cout << "[6] lazy_put two more records without a flush\n";
  for (auto x : {user(4, "Dave"), user(5, "Eve")})
    if (auto err = note("lazy_put", x, supercache::lazy_put(x)))
      return fail("lazy_put", err);

  // 7. Stop the buffers (the seed's `SuperCache.Buffer.stop()`). Unlike the
  //    fire-and-forget original, this blocks until each buffer has drained
  //    every accepted record into the cache. The cache itself keeps running,
  //    so `get` still works, while new writes are refused.
  std::cout << "[7] buffer::stop (drains the buffers, the cache keeps "
               "running)\n";
  if (auto err = supercache::buffer::stop())
    return fail("buffer::stop", err);
  std::cout << "    ok\n";
  for (auto& x : stored)
    if (!read_back(x))
      return 1;
  n = supercache::size();
  if (!n)
    return fail("supercache::size", n.error());
  std::cout << "    size() -> " << *n << '\n';
  auto late = supercache::lazy_put(user(6, "Frank"));
  std::cout << "    lazy_put " << user(6, "Frank").dump() << " -> "
            << outcome(late) << '\n';
  if (late != errc::not_started)
    return fail("expected not_started after buffer::stop", late);

  // 8. Stop everything: afterwards no supercache actor runs and no
  //    `buffer_N`/`cache_P` name is registered.
  std::cout << "[8] stop\n";
  if (auto err = supercache::stop())
    return fail("supercache::stop", err);
  std::cout << "    ok\n";
  late = supercache::lazy_put(user(7, "Grace"));
  std::cout << "    lazy_put " << user(7, "Grace").dump() << " -> "
            << outcome(late) << '\n';
  if (late != errc::not_started)
    return fail("expected not_started after stop", late);

  // Every record that `lazy_put` accepted was read back from the cache.
  if (*n != stored.size()) {
    std::cerr << "error: " << stored.size() << " records accepted, " << *n
              << " stored\n";
    return 1;
  }
  std::cout << "ok: " << *n << " records stored, 0 lost\n";
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  // Declare supercache's options, message types and error category before
  // the actor system exists: CAF reads them when the system starts.
  caf::actor_system_config cfg;
  supercache::configure(cfg);
  // Read caf-application.conf (INI syntax, found from the repository root),
  // then the command line, e.g. `--supercache.buffers=3`.
  if (auto err = cfg.parse(argc, argv, "caf-application.conf"))
    return fail("configuration", err);
  if (cfg.cli_helptext_printed)
    return EXIT_SUCCESS;
  caf::actor_system sys{cfg};
  return run(sys);
}
