// A hostile peer that uses only CAF (no supercache types): connects to a
// cache node, finds every actor it can through CAF's registry service
// (`remote_lookup`), floods them with junk and tries to stop them with
// exits. Run by tests/node/hostile_test.cpp against a real cache node.
//
// Usage: hostile_caf_peer PORT
// Prints one JSON line: {"found": actors reached, "sent": messages sent}.

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/exit_reason.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: hostile_caf_peer PORT\n");
    return 2;
  }
  auto port = static_cast<uint16_t>(std::atoi(argv[1]));
  caf::actor_system_config cfg;
  cfg.load<caf::io::middleman>();
  cfg.set("logger.verbosity", caf::atom("quiet"));
  caf::actor_system sys{cfg};
  auto front = sys.middleman().remote_actor("127.0.0.1", port);
  if (!front) {
    std::fprintf(stderr, "cannot connect: %s\n",
                 sys.render(front.error()).c_str());
    return 1;
  }
  std::vector<caf::actor> targets{*front};
  for (auto prefix : {"buffer_", "cache_"})
    for (int i = 1; i <= 4; ++i) {
      auto name = std::string{prefix} + std::to_string(i);
      auto hdl = sys.middleman().remote_lookup(caf::atom_from_string(name),
                                               front->node());
      if (hdl)
        targets.push_back(caf::actor_cast<caf::actor>(hdl));
    }
  size_t sent = 0;
  caf::scoped_actor self{sys};
  // Junk: types every CAF node knows, that none of our handlers expects.
  for (int i = 0; i < 20'000; ++i) {
    auto& dst = targets[static_cast<size_t>(i) % targets.size()];
    switch (i % 4) {
      case 0:
        self->send(dst, std::string{"junk"} + std::to_string(i));
        break;
      case 1:
        self->send(dst, i, i);
        break;
      case 2:
        caf::anon_send(dst, caf::atom("junk"), 1.5);
        break;
      default:
        self->send(dst, caf::atom("sc_stop")); // an atom named like ours
    }
    ++sent;
  }
  // Exits of every kind, from an actor and anonymous.
  for (auto& dst : targets) {
    for (auto reason : {caf::exit_reason::kill,
                        caf::exit_reason::user_shutdown,
                        caf::exit_reason::unknown}) {
      self->send_exit(dst, reason);
      caf::anon_send_exit(dst, reason);
      sent += 2;
    }
  }
  // Wait until the node answered behind everything sent (same connection,
  // same order): a request to the front.
  bool answered = false;
  self->request(*front, std::chrono::seconds(30), caf::atom("sc_size"))
    .receive([&](uint64_t) { answered = true; },
             [&](caf::error&) { answered = true; });
  std::printf("{\"found\": %zu, \"sent\": %zu, \"answered\": %s}\n",
              targets.size(), sent, answered ? "true" : "false");
  return 0;
}
