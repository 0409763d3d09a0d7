// A program that leaks its actor system's BASP broker as CAF 0.17.6 can at
// shutdown (a reference nobody releases) after the library used the network
// layer (instance/leak_check.hpp). Built only with the sanitizers: under
// LeakSanitizer it exits 0 only if that broker, and what it reaches, is
// exempt from the leak check at exit.

#include <cstdio>

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/io/basp_broker.hpp>
#include <caf/io/middleman.hpp>

#include <supercache/supercache.hpp>

int main() {
  caf::actor_system_config cfg;
  supercache::configure(cfg);
  cfg.load<caf::io::middleman>();
  cfg.set("logger.verbosity", caf::atom("quiet"));
  caf::actor_system sys{cfg};
  supercache::instance cache{sys};
  if (auto err = cache.start(supercache::options{})) {
    std::fprintf(stderr, "start: %s\n", supercache::render(err).c_str());
    return 1;
  }
  // publish is where the library first uses the network layer.
  auto port = cache.publish(0, "127.0.0.1");
  if (!port) {
    std::fprintf(stderr, "publish: %s\n",
                 supercache::render(port.error()).c_str());
    return 1;
  }
  // The reference CAF's multiplexer can drop without releasing it.
  auto broker = sys.middleman().named_broker<caf::io::basp_broker>(
    caf::atom("BASP"));
  caf::actor_cast<caf::strong_actor_ptr>(broker).release();
  if (auto err = cache.stop()) {
    std::fprintf(stderr, "stop: %s\n", supercache::render(err).c_str());
    return 1;
  }
  return 0;
}
