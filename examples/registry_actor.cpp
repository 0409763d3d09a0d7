/// An actor of your own system talking to supercache by message: it finds the
/// buffers and cache partitions in the actor registry by name, writes records
/// with `(put_atom, record)`, makes them visible with `(flush_atom)` and reads
/// them back from a partition with `(get_atom, pattern)`.
///
/// Actors use messages instead of `supercache::put`/`flush`, which block the
/// calling thread and must not run inside a message handler. The vocabulary
/// is in <supercache/messages.hpp>.
///
/// Run it from the repository root so that `caf-application.conf` is found:
///
///   ./build/examples/registry_actor
///   ./build/examples/registry_actor --supercache.buffers=3

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include <caf/actor_registry.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/after.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/stateful_actor.hpp>

#include <supercache/messages.hpp>
#include <supercache/supercache.hpp>

using supercache::errc;
using supercache::record;

namespace {

/// How long the importer waits for any single reply.
constexpr auto reply_timeout = std::chrono::seconds(10);

// Output: `main` blocks while the importer runs, so only one thread writes to
// stdout at a time and plain `std::cout` keeps the lines in order. (A program
// with many printing actors would use `caf::aout`.)

// -- the importer -------------------------------------------------------------

/// State of the `user_importer` actor.
struct importer_state {
  /// The users to import: key (the id) at position 0, see `users()`.
  std::vector<record> users;

  /// The buffers `buffer_1` ... `buffer_N`, looked up by name.
  std::vector<caf::actor> buffers;

  /// Where records keep their key and partition element.
  supercache::record_layout layout;

  /// Number of cache partitions (`cache_1` ... `cache_P`).
  size_t partitions = 0;

  /// Replies still outstanding in the current phase.
  size_t pending = 0;

  static inline const char* name = "user_importer";
};

using importer_actor = caf::stateful_actor<importer_state>;

/// The records to import. The seed's `{:user, 1, "Alice"}` would have the key
/// `"user"` with the default key-pos 0, so the id comes first.
std::vector<record> users() {
  return {record::array({1, "user", "Alice"}),
          record::array({2, "user", "Bob"}),
          record::array({3, "user", "Carol"}),
          record::array({4, "user", "Dave"}),
          record::array({5, "user", "Eve"})};
}

/// Prints why the import failed and terminates the importer with `err`, which
/// `main` receives in the `down_msg`.
void fail(importer_actor* self, const std::string& what,
          const caf::error& err) {
  std::cout << "importer: " << what << ": " << supercache::render(err) << '\n';
  self->quit(err);
}

/// Returns the registered actor `name`, or an invalid handle.
caf::actor lookup(importer_actor* self, caf::atom_value name) {
  auto ptr = self->system().registry().get(name); // caf::strong_actor_ptr
  return caf::actor_cast<caf::actor>(ptr);
}

void read_back(importer_actor* self);

/// Phase 2: asks every buffer for a flush. A buffer replies `ok_atom` once
/// every record it received before the flush is visible in the cache; a
/// flush covers only its own buffer, so the importer asks all of them.
void flush(importer_actor* self) {
  auto& st = self->state;
  std::cout << "importer: flush " << st.buffers.size() << " buffers\n";
  st.pending = st.buffers.size();
  for (size_t i = 0; i < st.buffers.size(); ++i) {
    auto name = caf::to_string(supercache::buffer::name(i + 1));
    self->request(st.buffers[i], reply_timeout, caf::flush_atom::value)
      .then(
        [=](caf::ok_atom) {
          std::cout << "  " << name << " -> ok\n";
          if (--self->state.pending == 0)
            read_back(self);
        },
        [=](caf::error& err) { fail(self, "flush " + name, err); });
  }
}

/// Phase 3: reads each user back from the partition that owns it.
void read_back(importer_actor* self) {
  auto& st = self->state;
  std::cout << "importer: read back from the cache partitions\n";
  st.pending = st.users.size();
  for (auto& user : st.users) {
    // The pattern carries the key at key-pos (and the partition element at
    // partition-pos), like the Elixir pattern `{1, nil, nil}`.
    auto pattern = record::array({user[0], nullptr, nullptr});
    // `partition_of` is the routing function the buffers use: equal partition
    // elements always land in the same partition, `cache_<p + 1>`.
    auto p = supercache::partition_of(pattern, st.layout, st.partitions);
    auto name = supercache::cache_name(p + 1);
    auto cache = lookup(self, name);
    if (!cache)
      return fail(self, "lookup " + caf::to_string(name),
                  supercache::make_error(errc::not_started,
                                         "no actor registered"));
    auto what = "get " + pattern.dump() + " from " + caf::to_string(name);
    self->request(cache, reply_timeout, caf::get_atom::value, pattern)
      .then(
        [=](std::vector<record>& found) {
          std::cout << "  " << what << " -> " << record(found).dump() << '\n';
          if (found.size() != 1 || found.front() != user)
            return fail(self, what,
                        supercache::make_error(errc::invalid_record,
                                               "expected [" + user.dump()
                                                 + "]"));
          if (--self->state.pending == 0) {
            std::cout << "importer: done, " << self->state.users.size()
                      << " users imported and read back\n";
            self->quit(); // normal exit: an empty reason in the down_msg
          }
        },
        [=](caf::error& err) { fail(self, what, err); });
  }
}

/// Phase 1: finds the buffers by name and sends each user to one of them with
/// `(put_atom, record)`; a buffer replies `ok_atom` once the record is queued.
/// One extra, malformed record must come back as `invalid_record`.
void user_importer(importer_actor* self) {
  auto& st = self->state;
  // The options of the running instance: how many buffers and partitions,
  // and the record layout that `partition_of` needs.
  auto opts = supercache::running_options();
  if (!opts) {
    fail(self, "running_options", opts.error());
    return;
  }
  if (opts->key_pos != 0 || opts->partition_pos != 0) {
    fail(self, "options",
         supercache::make_error(errc::invalid_option,
                                "this example needs key-pos=0 and "
                                "partition-pos=0 (the defaults)"));
    return;
  }
  st.layout = opts->layout();
  st.partitions = opts->partitions;
  st.users = users();
  // Look the buffers up once, by their registry names, and keep the handles:
  // a registry lookup is fine at start, not for every record.
  for (size_t i = 1; i <= opts->buffers; ++i) {
    auto name = supercache::buffer::name(i);
    auto hdl = lookup(self, name);
    if (!hdl) {
      fail(self, "lookup " + caf::to_string(name),
           supercache::make_error(errc::not_started, "no actor registered"));
      return;
    }
    st.buffers.push_back(std::move(hdl));
  }
  std::cout << "importer: found " << st.buffers.size()
            << " buffers and " << st.partitions << " cache partitions\n";
  // Send the users round-robin over the buffers; each reply counts down.
  std::cout << "importer: put " << st.users.size() << " users\n";
  st.pending = st.users.size() + 1;
  auto on_reply = [=] {
    if (--self->state.pending == 0)
      flush(self);
  };
  for (size_t i = 0; i < st.users.size(); ++i) {
    auto& user = st.users[i];
    auto what = "put " + user.dump() + " to "
                + caf::to_string(supercache::buffer::name(
                  i % st.buffers.size() + 1));
    self->request(st.buffers[i % st.buffers.size()], reply_timeout,
                  caf::put_atom::value, user)
      .then(
        [=](caf::ok_atom) {
          std::cout << "  " << what << " -> ok\n";
          on_reply();
        },
        [=](caf::error& err) { fail(self, what, err); });
  }
  // A JSON object is not a record: the buffer answers with an error.
  auto bad = record{{"id", 6}, {"name", "Mallory"}};
  auto what = "put " + bad.dump() + " to buffer_1";
  self->request(st.buffers.front(), reply_timeout, caf::put_atom::value, bad)
    .then(
      [=](caf::ok_atom) {
        fail(self, what,
             supercache::make_error(errc::invalid_record,
                                    "accepted a malformed record"));
      },
      [=](caf::error& err) {
        std::cout << "  " << what << " -> " << supercache::render(err)
                  << " (expected)\n";
        if (err != errc::invalid_record)
          return fail(self, what, err);
        on_reply();
      });
  // No behavior: the importer handles only the replies to its requests and
  // would terminate on its own once none is pending; it quits explicitly.
}

// -- main ---------------------------------------------------------------------

/// Prints `what` and the rendered `err` to stderr; returns exit status 1.
int print_error(const std::string& what, const caf::error& err) {
  std::cerr << "error: " << what << ": " << supercache::render(err) << '\n';
  return 1;
}

int run(caf::actor_system& sys) {
  // Start supercache: cache partitions, then buffers, all registered by name.
  if (auto err = supercache::start(sys))
    return print_error("supercache::start", err);
  auto opts = supercache::running_options();
  if (!opts) {
    static_cast<void>(supercache::stop());
    return print_error("supercache::running_options", opts.error());
  }
  std::cout << "main: supercache runs " << opts->buffers << " buffers and "
            << opts->partitions << " cache partitions\n";
  // Spawn the importer and wait for it to terminate. A scoped_actor monitors
  // it: `sys.await_all_actors_done()` would wait for supercache's own actors
  // too, which run until `supercache::stop`.
  int result = EXIT_SUCCESS;
  {
    caf::scoped_actor self{sys};
    auto importer = sys.spawn(user_importer);
    self->monitor(importer);
    self->receive(
      [&](caf::down_msg& msg) {
        if (msg.reason)
          result = print_error("user_importer", msg.reason);
      },
      caf::after(std::chrono::seconds(30)) >> [&] {
        std::cerr << "error: user_importer did not finish in time\n";
        self->send_exit(importer, caf::exit_reason::kill);
        result = EXIT_FAILURE;
      });
  } // The scoped_actor and the importer handle are gone here.
  // Stop supercache; its actors and names are gone afterwards, so the actor
  // system can shut down.
  if (auto err = supercache::stop())
    return print_error("supercache::stop", err);
  std::cout << "main: supercache stopped\n";
  if (result == EXIT_SUCCESS)
    std::cout << "ok: the importer wrote, flushed and read back "
              << users().size() << " records\n";
  return result;
}

} // namespace

int main(int argc, char** argv) {
  // Declare supercache's options, message types and error category before
  // the actor system exists.
  caf::actor_system_config cfg;
  supercache::configure(cfg);
  // Read caf-application.conf, then the command line.
  if (auto err = cfg.parse(argc, argv, "caf-application.conf"))
    return print_error("configuration", err);
  if (cfg.cli_helptext_printed)
    return EXIT_SUCCESS;
  caf::actor_system sys{cfg};
  return run(sys);
}
