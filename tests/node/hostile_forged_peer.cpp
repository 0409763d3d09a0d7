// A hostile peer that forges supercache's own messages: entries with an
// out-of-range partition straight into a buffer, streams into a partition
// with an out-of-range buffer index or with records for another partition
// (by their partition index, or by their partition element under the right
// index),
// the buffer's local-only atoms, and requests the front does not offer.
// Run by tests/node/hostile_test.cpp against a real cache node.
//
// Usage: hostile_forged_peer PORT
// Prints one JSON line: {"found": actors reached, "sent": messages sent,
// "streamed": records streamed, "answered": ...}.

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include <supercache/supercache.hpp>

#include "actors/messages.hpp"
#include "tests/streamer.hpp"

using namespace supercache;
using supercache::testing::streamer;

namespace {

constexpr int streamed_per_attack = 500;

/// Returns `n` records for partition `partition` (whatever their keys say).
std::vector<entry> forged(uint32_t partition, int n, int first_key) {
  std::vector<entry> result;
  for (int i = 0; i < n; ++i) {
    entry x;
    x.partition = partition;
    x.value = packed::pack(record::array({first_key + i, "forged"}),
                           record_layout{})
                .first;
    result.push_back(std::move(x));
  }
  return result;
}

/// Returns `n` records with partition index 0 whose partition element
/// belongs to another of `partitions` partitions.
std::vector<entry> misplaced(size_t partitions, int n, int first_key) {
  std::vector<entry> result;
  for (int k = first_key; static_cast<int>(result.size()) < n; ++k) {
    auto x = record::array({k, "misplaced"});
    if (partitions > 1 && partition_of(x, record_layout{}, partitions) != 0) {
      entry e;
      e.partition = 0;
      e.value = packed::pack(x, record_layout{}).first;
      result.push_back(std::move(e));
    }
  }
  return result;
}

} // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: hostile_forged_peer PORT\n");
    return 2;
  }
  auto port = static_cast<uint16_t>(std::atoi(argv[1]));
  caf::actor_system_config cfg;
  configure(cfg);
  cfg.load<caf::io::middleman>();
  cfg.set("logger.verbosity", caf::atom("quiet"));
  caf::actor_system sys{cfg};
  auto front = sys.middleman().remote_actor("127.0.0.1", port);
  if (!front) {
    std::fprintf(stderr, "cannot connect: %s\n",
                 sys.render(front.error()).c_str());
    return 1;
  }
  auto lookup = [&](const char* name) {
    return caf::actor_cast<caf::actor>(
      sys.middleman().remote_lookup(caf::atom_from_string(name),
                                    front->node()));
  };
  auto buffer = lookup("buffer_1");
  auto partition = lookup("cache_1");
  if (!buffer || !partition) {
    std::fprintf(stderr, "buffer_1 or cache_1 not found\n");
    return 1;
  }
  size_t sent = 0;
  caf::scoped_actor self{sys};
  size_t partitions = 0;
  self->request(*front, std::chrono::seconds(30), caf::get_atom::value)
    .receive([&](std::vector<caf::actor>& xs, record&) {
               partitions = xs.size();
             },
             [&](caf::error&) {});
  if (partitions < 2) {
    std::fprintf(stderr, "the cache node has %zu partitions, need 2\n",
                 partitions);
    return 1;
  }
  // Entries straight into a buffer: out of range (the segfault of issue
  // 10), in range (local only), a barrier.
  for (auto p : {1'000'000u, 0xFFFFFFFFu, 2u, 0u}) {
    auto xs = forged(p, 1, 1'000'000);
    self->send(buffer, std::move(xs[0]));
    caf::anon_send(buffer, forged(p, 1, 1'000'001)[0]);
    sent += 2;
  }
  entry marker;
  marker.barrier = 1;
  self->send(buffer, marker);
  // The buffer's local-only atoms.
  self->send(buffer, stop_atom::value);
  self->send(buffer, flushed_atom::value, uint64_t{1});
  self->send(buffer, reopen_atom::value, uint32_t{0}, caf::actor{self});
  self->send(buffer, reopen_atom::value, uint32_t{1'000'000},
             caf::actor{self});
  // Requests the front does not offer, and a put to it.
  self->send(*front, caf::put_atom::value, record::array({1, "x"}));
  self->send(*front, stop_atom::value);
  sent += 7;
  // Streams into cache_1: a buffer index out of range, and records for
  // partitions that are not cache_1's (index 0).
  auto a = sys.spawn(streamer, partition, uint32_t{5000},
                     forged(0, streamed_per_attack, 2'000'000));
  auto b = sys.spawn(streamer, partition, uint32_t{7},
                     forged(1'000'000, streamed_per_attack, 3'000'000));
  auto c = sys.spawn(streamer, partition, uint32_t{0xFFFFFFFF},
                     forged(5, streamed_per_attack, 4'000'000));
  // Records under cache_1's index whose key belongs to another partition:
  // stored there, `get` would never find them.
  auto d = sys.spawn(streamer, partition, uint32_t{8},
                     misplaced(partitions, streamed_per_attack, 5'000'000));
  self->monitor(a);
  self->monitor(b);
  self->monitor(c);
  self->monitor(d);
  int done = 0;
  bool timed_out = false;
  while (done < 4 && !timed_out)
    self->receive([&](caf::down_msg&) { ++done; },
                  caf::after(std::chrono::seconds(60)) >>
                    [&] { timed_out = true; });
  // Answered behind everything sent on this connection.
  bool answered = false;
  self->request(*front, std::chrono::seconds(30), size_atom::value)
    .receive([&](uint64_t) { answered = true; },
             [&](caf::error&) { answered = false; });
  std::printf("{\"found\": 3, \"sent\": %zu, \"streamed\": %d, "
              "\"streams_done\": %d, \"answered\": %s}\n",
              sent, done == 4 ? 4 * streamed_per_attack : 0, done,
              answered ? "true" : "false");
  for (auto& hdl : std::vector<caf::actor>{a, b, c, d})
    self->send_exit(hdl, caf::exit_reason::user_shutdown);
  return timed_out ? 1 : 0;
}
