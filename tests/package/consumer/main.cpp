/// A consumer of supercache: runs a `supercache::instance` in its actor
/// system, writes N records with `lazy_put` (half from `main`, half from an
/// actor of its own that receives them in messages), flushes and checks that
/// exactly N records are stored. Exit status 0 on success, 1 otherwise.
/// Built by tests/package/run.sh.
///
/// Header hygiene: the consumer has headers of its own at paths that are (or
/// were) supercache-internal (actors/, config/, core/, instance/), with
/// different content, and its own `nlohmann::inspect` for JSON values. It
/// includes <supercache/supercache.hpp> only, not the opt-in
/// <supercache/messages.hpp>.

#include <chrono>
#include <cstddef>
#include <iostream>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>

#include <supercache/supercache.hpp>

#include <actors/messages.hpp> // consumer::record_atom, nlohmann::inspect
#include <actors/record.hpp>   // consumer::record
#include <config/options.hpp>  // consumer::options
#include <core/names.hpp>      // consumer::program_name
#include <instance/state.hpp>  // consumer::state

namespace {

constexpr auto reply_timeout = std::chrono::seconds(10);

int fail(const std::string& what) {
  std::cerr << consumer::program_name << ": " << what << '\n';
  return 1;
}

int fail(const std::string& what, const caf::error& err) {
  return fail(what + ": " + supercache::render(err));
}

/// Checks that CAF serializes a JSON value with the consumer's own `inspect`
/// (as JSON text, not supercache's MessagePack bytes) and reads it back.
int check_own_inspect(caf::actor_system& sys, const consumer::options& opts) {
  auto x = consumer::record{7, opts.origin}.to_json();
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  if (auto err = sink(x))
    return fail("serializing a JSON value", err);
  if (std::string(buf.begin(), buf.end()).find(x.dump()) == std::string::npos)
    return fail("a JSON value was not serialized as its text " + x.dump()
                + ": not by the consumer's own nlohmann::inspect");
  nlohmann::json y;
  caf::binary_deserializer source{sys, buf};
  if (auto err = source(y))
    return fail("deserializing a JSON value", err);
  if (y != x)
    return fail("a JSON value came back as " + y.dump() + ", not " + x.dump());
  return 0;
}

/// An actor of the consumer: `lazy_put`s every record it receives.
caf::behavior writer(caf::event_based_actor*, supercache::instance* inst) {
  return {
    [inst](consumer::record_atom,
           const nlohmann::json& x) -> caf::result<caf::ok_atom> {
      if (auto err = inst->lazy_put(x))
        return err;
      return caf::ok_atom::value;
    },
  };
}

int run(caf::actor_system& sys, const consumer::options& opts) {
  if (auto rc = check_own_inspect(sys, opts))
    return rc;
  // On an early return the destructor stops the instance.
  supercache::instance inst{sys};
  if (auto err = inst.start())
    return fail("start", err);
  consumer::state st;
  {
    auto w = sys.spawn(writer, &inst);
    caf::scoped_actor self{sys};
    for (int i = 0; i < opts.records; ++i) {
      auto x = consumer::record{i, opts.origin}.to_json();
      if (i % 2 == 0) {
        if (auto err = inst.lazy_put(std::move(x)))
          return fail("lazy_put", err);
        ++st.direct;
        continue;
      }
      caf::error failed;
      self->request(w, reply_timeout, consumer::record_atom::value, x)
        .receive([&](caf::ok_atom) { ++st.via_actor; },
                 [&](caf::error& err) { failed = std::move(err); });
      if (failed)
        return fail("lazy_put by the writer actor", failed);
    }
    self->send_exit(w, caf::exit_reason::user_shutdown);
  }
  if (auto err = inst.flush())
    return fail("flush", err);
  auto n = inst.size();
  if (auto err = inst.stop())
    return fail("stop", err);
  if (!n)
    return fail("size", n.error());
  if (st.total() != opts.records || *n != static_cast<size_t>(opts.records))
    return fail("expected " + std::to_string(opts.records) + " records, wrote "
                + std::to_string(st.total()) + ", got " + std::to_string(*n));
  std::cout << consumer::program_name << ": ok: " << *n
            << " records stored (" << st.direct << " from main, "
            << st.via_actor << " from an actor), allocator "
            << supercache::allocator() << '\n';
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  caf::actor_system_config cfg;
  supercache::configure(cfg);
  if (auto err = cfg.parse(argc, argv))
    return fail("configuration", err);
  caf::actor_system sys{cfg};
  return run(sys, consumer::options{});
}
