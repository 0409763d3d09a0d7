/// Actors of your own system writing through a `supercache::instance` from
/// inside their message handlers, the use per-worker routing is made for.
///
/// `lazy_put` hands each record to the buffer of the worker that runs the
/// actor and returns at once; at `max-pending` it never waits on a worker
/// (under `block` it returns `overloaded` at once, under `drop-oldest` it
/// drops and counts). The actors then ask the instance's front, registered
/// as `supercache`, to flush every buffer, and read back the size. Blocking
/// calls (`flush`, `stop`, ...) would return `would_deadlock` inside a
/// handler: they are for the thread that owns the instance.
///
///   ./build/examples/actors_calling_lazy_put --scheduler.max-threads=1
///   ./build/examples/actors_calling_lazy_put --supercache.max-pending=500

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <vector>

#include <caf/all.hpp>

#include <supercache/messages.hpp>
#include <supercache/supercache.hpp>

using supercache::errc;
using supercache::record;

namespace {

constexpr int64_t writers = 4;
constexpr int64_t per_writer = 25'000;

/// What one writer saw.
struct tally {
  int64_t accepted = 0;
  int64_t overloaded = 0;
};

/// Writes keys `first` .. `first + per_writer - 1`, 100 per message so that
/// the buffers run in between, then asks the front to flush and replies
/// `(accepted, overloaded)`.
caf::behavior writer(caf::stateful_actor<tally>* self,
                     supercache::instance* cache, int64_t first) {
  auto front = caf::actor_cast<caf::actor>(
    self->system().registry().get(supercache::instance::front_name()));
  return {
    [=](int64_t next) -> caf::result<int64_t, int64_t> {
      auto end = std::min(next + 100, first + per_writer);
      for (auto i = next; i < end; ++i) {
        auto err = cache->lazy_put(record::array({i, "from an actor"}));
        if (!err)
          ++self->state.accepted;
        else if (err == errc::overloaded)
          ++self->state.overloaded;
      }
      if (end < first + per_writer) {
        // The next 100 as a new message: the original request moves along.
        self->delegate(caf::actor_cast<caf::actor>(self), end);
        return caf::delegated<int64_t, int64_t>{};
      }
      auto rp = self->make_response_promise<int64_t, int64_t>();
      self->request(front, std::chrono::seconds(30), caf::flush_atom::value)
        .then([=](caf::ok_atom) mutable {
                rp.deliver(self->state.accepted, self->state.overloaded);
              },
              [=](caf::error& err) mutable { rp.deliver(err); });
      return rp;
    },
  };
}

} // namespace

int main(int argc, char** argv) {
  caf::actor_system_config cfg;
  supercache::configure(cfg);
  if (auto err = cfg.parse(argc, argv, "caf-application.conf")) {
    std::cerr << "configuration: " << caf::to_string(err) << '\n';
    return EXIT_FAILURE;
  }
  caf::actor_system sys{cfg};
  supercache::instance cache{sys}; // after the system: destroyed first
  if (auto err = cache.start()) {
    std::cerr << supercache::render(err) << '\n';
    return EXIT_FAILURE;
  }
  int64_t accepted = 0;
  int64_t overloaded = 0;
  {
    caf::scoped_actor self{sys};
    std::vector<caf::actor> spawned;
    for (int64_t w = 0; w < writers; ++w) {
      spawned.push_back(sys.spawn(writer, &cache, w * per_writer));
      self->send(spawned.back(), w * per_writer);
    }
    for (int64_t w = 0; w < writers; ++w)
      self->receive(
        [&](int64_t acc, int64_t over) {
          accepted += acc;
          overloaded += over;
        },
        [&](caf::error& err) {
          std::cerr << "writer: " << supercache::render(err) << '\n';
        },
        caf::after(std::chrono::seconds(60)) >> [] {
          std::cerr << "writers did not finish within 60 s\n";
        });
    // Their answered requests' timeouts would keep them alive until due.
    for (auto& hdl : spawned)
      self->send_exit(hdl, caf::exit_reason::user_shutdown);
  }
  auto stats = *cache.stats();
  std::cout << "accepted " << accepted << ", overloaded " << overloaded
            << ", stored " << *cache.size() << ", dropped "
            << stats["dropped"] << " of " << writers * per_writer
            << " lazy_puts on " << sys.scheduler().num_workers()
            << " workers\n";
  auto exact = accepted + overloaded == writers * per_writer
               && static_cast<int64_t>(*cache.size())
                      + stats["dropped"].get<int64_t>()
                    == accepted;
  if (auto err = cache.stop()) {
    std::cerr << supercache::render(err) << '\n';
    return EXIT_FAILURE;
  }
  return exact ? EXIT_SUCCESS : EXIT_FAILURE;
}
