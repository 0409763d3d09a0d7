// `--mode=remote`: phase 3 into a local cache and into a cache node that this
// program starts on a free loopback port.

#include "bench/phases.hpp"

#include <cstdint>
#include <cstdio>
#include <memory>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

namespace supercache::bench {

namespace {

/// A cache node started by `--mode=remote`: killed with SIGTERM when done.
struct cache_node {
  pid_t pid = 0;
  uint16_t port = 0;
  std::string error;

  /// Starts `SUPERCACHE_NODE_PATH --supercache.role="cache"` with the
  /// flags in `extra_args` and reads its port from the `listening` event.
  explicit cache_node(const std::vector<std::string>& extra_args) {
    std::vector<std::string> args{SUPERCACHE_NODE_PATH,
                                  "--supercache.role=\"cache\"",
                                  "--supercache.port=0"};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    auto fd = spawn_piped(SUPERCACHE_NODE_PATH, std::move(args), pid, error);
    if (fd < 0)
      return;
    std::string line;
    char c = 0;
    while (read(fd, &c, 1) == 1 && c != '\n')
      line += c;
    close(fd);
    auto event = json::parse(line, nullptr, false);
    if (!event.is_object() || event.value("event", "") != "listening")
      error = "the cache node printed no listening event: " + line;
    else
      port = event["port"].get<uint16_t>();
  }

  ~cache_node() {
    if (pid > 0) {
      kill(pid, SIGTERM);
      int status = 0;
      waitpid(pid, &status, 0);
    }
  }
};

} // namespace

void run_remote_mode(caf::actor_system& sys, const workload& w, int argc,
                     char** argv, report& r) {
  auto& out = r.out;
  lazy_params lp{w.records, w.producers, w.opts.buffers, w.opts.partitions,
                 false};
  out["lazy_put"] = run_lazy(sys, w, lp, r);
  std::vector<std::string> node_args;
  for (int i = 1; i < argc; ++i)
    for (auto prefix : {"--scheduler.", "--stream.", "--middleman."})
      if (std::string{argv[i]}.rfind(prefix, 0) == 0)
        node_args.emplace_back(argv[i]);
  cache_node node{node_args};
  r.check(node.error.empty(), node.error);
  if (!node.error.empty())
    return;
  lp.remote = "127.0.0.1:" + std::to_string(node.port);
  out["remote"] = run_lazy(sys, w, lp, r);
  if (!out["lazy_put"].is_object() || !out["remote"].is_object())
    return;
  auto local = out["lazy_put"]["end_to_end_rate"].get<double>();
  auto remote = out["remote"]["end_to_end_rate"].get<double>();
  out["remote_ratio"] = ratio(remote, local);
  std::printf("lazy_put end to end, local cache:      %12.0f records/s\n"
              "lazy_put end to end, cache node (TCP): %12.0f records/s\n"
              "remote / local:                        %12.2f\n",
              local, remote, remote / local);
  // A cluster of three fresh nodes (on the same cores), with one copy of
  // each partition and with two.
  for (size_t replicas : {size_t{1}, size_t{2}}) {
    std::vector<std::unique_ptr<cache_node>> nodes;
    std::string list;
    for (int k = 0; k < 3; ++k) {
      nodes.push_back(std::make_unique<cache_node>(node_args));
      r.check(nodes.back()->error.empty(), nodes.back()->error);
      if (!nodes.back()->error.empty())
        return;
      list += (list.empty() ? "" : ",") + std::string{"127.0.0.1:"}
              + std::to_string(nodes.back()->port);
    }
    lp.remote = list;
    lp.replicas = replicas;
    auto key = "cluster_replicas_" + std::to_string(replicas);
    out[key] = run_lazy(sys, w, lp, r);
    if (!out[key].is_object())
      return;
    auto rate = out[key]["end_to_end_rate"].get<double>();
    out[key + "_ratio"] = ratio(rate, local);
    std::printf("lazy_put end to end, 3 nodes, replicas = %zu: %10.0f "
                "records/s (%.2f of local)\n",
                replicas, rate, rate / local);
  }
  std::printf("\n");
}

} // namespace supercache::bench
