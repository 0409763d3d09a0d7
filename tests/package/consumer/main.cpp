/// A consumer of supercache: starts it in an actor system, writes N records
/// with `lazy_put`, flushes and checks that exactly N records are stored.
/// Exit status 0 on success, 1 otherwise. Built by tests/package/run.sh.

#include <cstddef>
#include <iostream>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include <supercache.hpp>

namespace {

constexpr int num_records = 1000;

int fail(const char* what, const caf::error& err) {
  std::cerr << "consumer: " << what << ": " << supercache::render(err) << '\n';
  return 1;
}

int run(caf::actor_system& sys) {
  if (auto err = supercache::start(sys))
    return fail("start", err);
  for (int i = 0; i < num_records; ++i)
    if (auto err = supercache::lazy_put(
          supercache::record::array({i, "consumer"}))) {
      static_cast<void>(supercache::stop());
      return fail("lazy_put", err);
    }
  if (auto err = supercache::flush()) {
    static_cast<void>(supercache::stop());
    return fail("flush", err);
  }
  auto n = supercache::size();
  if (auto err = supercache::stop())
    return fail("stop", err);
  if (!n)
    return fail("size", n.error());
  if (*n != static_cast<size_t>(num_records)) {
    std::cerr << "consumer: expected " << num_records << " records, got "
              << *n << '\n';
    return 1;
  }
  std::cout << "consumer: ok: " << *n << " records stored, allocator "
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
  return run(sys);
}
