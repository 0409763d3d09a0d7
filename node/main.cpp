/// supercache-node: one program for every role of a supercache deployment.
///
///   role="standalone" (default): cache and buffers in this process; ingest
///                     `input`, flush, print stats. SIGINT/SIGTERM stop the
///                     ingest: what was accepted is flushed and reported
///                     ({"event":"done","interrupted":true,...}, exit
///                     128 + signal). An input that cannot be read (a
///                     directory) exits 1; an empty one is valid.
///   role="cache":     publish the cache partitions on host:port, print
///                     {"event":"listening",...,"tls":true|false}; on
///                     SIGINT/SIGTERM stop and print {"event":"stopped",...}.
///   role="producer":  stream to the cache node at `remote`; ingest `input`,
///                     flush (the remote cache then has every accepted
///                     record), print stats. Signals and input as for
///                     standalone; if the cache node goes away it prints
///                     {"event":"aborted","accepted":..,"shipped":..,
///                     "lost":..,...} and its error, and exits 1.
///
/// Configured by caf-application.conf (or --config-file=...), every key
/// overridable on the command line (--supercache.role="cache"): the
/// library's options (`supercache::configure`) plus the node's own `role`,
/// `host`, `port` and `input` (config/node_options.hpp); see --long-help and
/// --dump-config. CAF's `[openssl]` keys (certificate, key, cafile or capath,
/// passphrase) turn on TLS with mutual certificate checks for the cache and
/// producer roles (config/tls.hpp). Events are JSON lines on stdout; errors
/// are one line on stderr and a non-zero exit status (2: bad configuration,
/// 1: anything else).

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <cstdio>
#include <iostream>
#include <string>
#include <string_view>
#include <thread>

#include <pthread.h>
#include <unistd.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/openssl/manager.hpp>
#include <caf/scoped_actor.hpp>

#include "config/node_options.hpp"
#include "core/cluster_map.hpp"
#include "config/tls.hpp"
#include "node/ingest.hpp"
#include "node/input.hpp"
#include <supercache/messages.hpp>
#include <supercache/supercache.hpp>

#ifndef SUPERCACHE_SAMPLE_INPUT
#  define SUPERCACHE_SAMPLE_INPUT "examples/data/sample.ndjson"
#endif

namespace {

using supercache::render;
using supercache::node::node_role;
using clock_type = std::chrono::steady_clock;

/// Prints `error: what: err` on stderr, as one write (the library's lines
/// from other threads cannot land inside it); returns `status`.
int fail(const std::string& what, const caf::error& err, int status = 1) {
  auto line = "supercache-node: error: " + what;
  if (err)
    line += ": " + render(err);
  line += '\n';
  std::cerr << line << std::flush;
  return status;
}

/// Prints one JSON event line on stdout.
void emit(const nlohmann::ordered_json& event) {
  std::cout << event.dump() << std::endl;
}

double seconds_since(clock_type::time_point start) {
  return std::chrono::duration<double>(clock_type::now() - start).count();
}

/// The library's options and the node's own.
struct node_config {
  supercache::options lib;
  supercache::node::options node;
};

/// Watches SIGINT and SIGTERM (blocked in every thread by `main`) while the
/// node ingests: the first one sets `stop` and interrupts the input, also a
/// read that blocks on a pipe.
class signal_watcher {
public:
  signal_watcher(const sigset_t& signals, supercache::node::fd_input& input)
    : signals_(signals) {
    thread_ = std::thread{[this, &input] {
      int sig = 0;
      if (sigwait(&signals_, &sig) != 0 || done_.load())
        return;
      signal_ = sig;
      stop = true;
      input.interrupt();
    }};
  }

  ~signal_watcher() {
    finish();
  }

  /// Stops watching; returns the signal that interrupted the ingest, or 0.
  /// Later signals stay blocked: the node finishes its flush and report.
  int finish() {
    if (thread_.joinable()) {
      done_ = true;
      pthread_kill(thread_.native_handle(), SIGTERM);
      thread_.join();
    }
    return signal_.load();
  }

  /// Set once a signal arrived; the ingest checks it before each line.
  std::atomic<bool> stop{false};

private:
  sigset_t signals_;
  std::atomic<bool> done_{false};
  std::atomic<int> signal_{0};
  std::thread thread_;
};

/// Prints the `aborted` event before the node exits with an error after
/// ingesting began: what it accepted, and what its buffers (asked by name,
/// `buffer_N`; they outlive an unreachable cache node) know: `shipped` to the
/// cache node (stored there unless it died), and `lost` (held when the cache
/// node went away, or sent to a partition that died).
void emit_counts(caf::actor_system& sys, const char* role,
                 const supercache::node::ingest_result& res) {
  nlohmann::ordered_json event{{"event", "aborted"},
                               {"role", role},
                               {"accepted", res.accepted},
                               {"rejected", res.rejected}};
  uint64_t shipped = 0;
  uint64_t lost = 0;
  uint64_t dropped = 0;
  bool known = true;
  caf::scoped_actor self{sys};
  for (size_t i = 1; i <= 999; ++i) {
    auto name = caf::atom_from_string("buffer_" + std::to_string(i));
    auto hdl = caf::actor_cast<caf::actor>(sys.registry().get(name));
    if (!hdl)
      break;
    self->request(hdl, std::chrono::seconds(1), supercache::stats_atom::value)
      .receive(
        [&](const supercache::record& x) {
          shipped += x.value("written", uint64_t{0});
          lost += x.value("lost", uint64_t{0});
          dropped += x.value("dropped", uint64_t{0});
        },
        [&](const caf::error&) { known = false; });
  }
  event["shipped"] = shipped;
  event["lost"] = lost;
  event["dropped"] = dropped;
  event["complete"] = known;
  emit(event);
}

/// Ingests the configured input with `lazy_put`, flushes and prints the
/// `done` event. Used by the standalone and producer roles. An input that
/// cannot be opened or read (a directory, a read error) is an error (exit
/// 1); an empty one is an empty input. SIGINT or SIGTERM ends the ingest:
/// what was accepted is flushed, `done` says `"interrupted": true`, and the
/// status is 128 + the signal. Any other error after ingesting began prints
/// the `aborted` event with the counts before its error line.
int ingest_and_report(caf::actor_system& sys, const node_config& opts,
                      const char* role, const sigset_t& signals) {
  auto start = clock_type::now();
  auto& input = opts.node.input;
  auto path = input.empty() ? std::string{SUPERCACHE_SAMPLE_INPUT} : input;
  supercache::node::fd_input source{path};
  if (!source.error().empty())
    return fail(source.error(), caf::none);
  std::istream in{&source};
  supercache::node::ingest_report report;
  report.errors = &std::cerr;
  if (isatty(STDERR_FILENO))
    report.progress = &std::cerr;
  signal_watcher watcher{signals, source};
  auto res = supercache::node::ingest(
    in, [](supercache::record x) { return supercache::lazy_put(std::move(x)); },
    report, &watcher.stop);
  auto sig = watcher.finish();
  if (!res.fatal && !source.error().empty()) {
    emit_counts(sys, role, res);
    return fail(source.error() + " (after line " + std::to_string(res.lines)
                  + ")",
                caf::none);
  }
  if (res.fatal) {
    emit_counts(sys, role, res);
    return fail("ingest stopped at line " + std::to_string(res.lines),
                res.fatal);
  }
  if (auto err = supercache::flush()) {
    emit_counts(sys, role, res);
    return fail("flush", err);
  }
  auto stored = supercache::size();
  if (!stored)
    return fail("size", stored.error());
  auto stats = supercache::stats();
  if (!stats)
    return fail("stats", stats.error());
  auto seconds = seconds_since(start);
  emit({{"event", "done"},
        {"role", role},
        {"input", path},
        {"accepted", res.accepted},
        {"rejected", res.rejected},
        {"stored", *stored},
        {"seconds", seconds},
        {"records_per_s",
         seconds > 0 ? static_cast<double>(res.accepted) / seconds : 0.0},
        {"dropped", (*stats)["dropped"]},
        {"lost", (*stats)["lost"]},
        {"replicas_lost", stats->value("replicas_lost", uint64_t{0})},
        {"interrupted", sig != 0}});
  return sig != 0 ? 128 + sig : 0;
}

/// Ingests with the cache that `started` (the result of `start` or
/// `connect`) brought up, then stops it.
int ingest_with(caf::actor_system& sys, caf::error started, const char* what,
                const node_config& opts, const char* role,
                const sigset_t& signals) {
  if (started)
    return fail(what, started);
  auto status = ingest_and_report(sys, opts, role, signals);
  if (auto err = supercache::stop(); err && status == 0)
    return fail("stop", err);
  return status;
}

int run_standalone(caf::actor_system& sys, const node_config& opts,
                   const sigset_t& signals) {
  return ingest_with(sys, supercache::start(sys, opts.lib), "start", opts,
                     "standalone", signals);
}

int run_producer(caf::actor_system& sys, const node_config& opts,
                 const sigset_t& signals) {
  if (opts.lib.remote.empty())
    return fail("role \"producer\" needs supercache.remote = \"HOST:PORT\"",
                caf::none, 2);
  return ingest_with(sys, supercache::connect(sys, opts.lib), "connect", opts,
                     "producer", signals);
}

int run_cache(caf::actor_system& sys, const node_config& opts,
              const sigset_t& signals) {
  if (auto err = supercache::start(sys, opts.lib))
    return fail("start", err);
  auto& host = opts.node.host;
  auto port = supercache::publish(sys, static_cast<uint16_t>(opts.node.port),
                                  host);
  if (!port) {
    supercache::stop();
    return fail("publish", port.error());
  }
  emit({{"event", "listening"},
        {"host", host},
        {"port", *port},
        {"tls", *supercache::detail::tls_enabled(sys.config())}});
  int sig = 0;
  sigwait(&signals, &sig);
  auto stats = supercache::stats();
  auto err = supercache::stop();
  auto stored = supercache::last_stop_size();
  nlohmann::ordered_json event{{"event", "stopped"},
                       {"signal", sig == SIGINT ? "SIGINT" : "SIGTERM"},
                       {"stored", stored ? *stored : 0}};
  if (stats)
    event["lost_stored"] = (*stats)["lost_stored"];
  emit(event);
  if (err)
    return fail("stop", err);
  return 0;
}

/// Returns whether the command line asks for `--dump-config`.
bool dumps_config(int argc, char** argv) {
  for (int i = 1; i < argc; ++i)
    if (std::string_view{argv[i]} == "--dump-config")
      return true;
  return false;
}

/// Prints the cluster map of a producer's `remote` list behind CAF's
/// `--dump-config`, as comments (core/cluster_map.hpp), for the partitions
/// configured here: at connect a producer takes its cache nodes' count.
void dump_cluster_map(const caf::actor_system_config& cfg) {
  auto opts = supercache::options::from(cfg);
  if (!opts || opts->remote.empty())
    return;
  auto eps = supercache::parse_endpoints(opts->remote);
  if (!eps || opts->replicas == 0 || opts->replicas > eps->size())
    return; // connect names what is wrong
  if (opts->partitions == 0) {
    // One per worker of each cache node: the rule, with the nodes numbered.
    std::cout << "# cluster map of supercache.remote: partition p (1-based) "
                 "on node ((p - 1) mod "
              << eps->size() << ") + 1 and the next " << opts->replicas - 1
              << " (wrapping), primary first; nodes:";
    for (size_t k = 0; k < eps->size(); ++k)
      std::cout << ' ' << k + 1 << '=' << (*eps)[k].text;
    std::cout << std::endl;
    return;
  }
  supercache::cluster_map map{eps->size(), opts->partitions, opts->replicas};
  std::cout << "# cluster map of supercache.remote, for partitions = "
            << opts->partitions << " (a producer takes its cache nodes' "
            << "count at connect), primary first:\n";
  for (size_t p = 0; p < map.partitions(); ++p) {
    std::cout << "#   partition " << p + 1 << ":";
    for (auto k : map.nodes_of(p))
      std::cout << ' ' << (*eps)[k].text;
    std::cout << '\n';
  }
  std::cout.flush();
}

} // namespace

int main(int argc, char** argv) {
  // Every thread the actor system starts inherits this mask, so SIGINT and
  // SIGTERM reach only `sigwait`: in `run_cache`, or the signal watcher of
  // an ingest.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  caf::actor_system_config cfg;
  supercache::configure(cfg);
  supercache::node::declare_options(cfg);
  if (auto err = cfg.parse(argc, argv, "caf-application.conf"))
    return fail("configuration", err, 2);
  if (cfg.cli_helptext_printed) {
    if (dumps_config(argc, argv))
      dump_cluster_map(cfg);
    return 0;
  }
  auto lib_opts = supercache::options::from(cfg);
  if (!lib_opts)
    return fail("configuration", lib_opts.error(), 2);
  auto node_opts = supercache::node::options::from(cfg);
  if (!node_opts)
    return fail("configuration", node_opts.error(), 2);
  node_config opts{std::move(*lib_opts), std::move(*node_opts)};
  auto role = opts.node.role;
  // A bounded cache evicts all the time: keep its RSS to what it holds.
  if (role != node_role::producer && opts.lib.max_records > 0)
    supercache::return_freed_pages();
  if (role != node_role::standalone) {
    // TLS when CAF's [openssl] keys say so (options::from refused a partial
    // setting); a cache without it listens on loopback only.
    auto tls = *supercache::detail::tls_enabled(cfg);
    if (tls)
      if (auto err = supercache::detail::check_tls_files(cfg))
        return fail("configuration", err, 2);
    if (role == node_role::cache)
      if (auto err = supercache::detail::check_listen(
            tls, opts.lib.allow_insecure, opts.node.host))
        return fail("configuration", err, 2);
    cfg.load<caf::io::middleman>();
    if (tls)
      cfg.load<caf::openssl::manager>();
  }
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  caf::actor_system sys{cfg};
  int status = 1;
  switch (role) {
    case node_role::standalone:
      status = run_standalone(sys, opts, signals);
      break;
    case node_role::cache:
      status = run_cache(sys, opts, signals);
      break;
    case node_role::producer:
      status = run_producer(sys, opts, signals);
      break;
  }
  if (status != 0 && role == node_role::producer) {
    // Everything is reported. CAF 0.17's middleman joins its network thread
    // in ~actor_system, which waits forever for a write to a frozen peer
    // to drain: leave without it.
    std::cout.flush();
    std::cerr.flush();
    std::_Exit(status);
  }
  return status;
}
