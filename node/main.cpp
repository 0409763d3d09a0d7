/// supercache-node: one program for every role of a supercache deployment.
///
///   role="standalone" (default): cache and buffers in this process; ingest
///                     `input`, flush, print stats.
///   role="cache":     publish the cache partitions on host:port, print
///                     {"event":"listening",...,"tls":true|false}; on
///                     SIGINT/SIGTERM stop and print {"event":"stopped",...}.
///   role="producer":  stream to the cache node at `remote`; ingest `input`,
///                     flush (the remote cache then has every accepted
///                     record), print stats.
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

#include <csignal>
#include <cstdlib>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>

#include <unistd.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/openssl/manager.hpp>

#include "config/node_options.hpp"
#include "config/tls.hpp"
#include "node/ingest.hpp"
#include <supercache/supercache.hpp>

#ifndef SUPERCACHE_SAMPLE_INPUT
#  define SUPERCACHE_SAMPLE_INPUT "examples/data/sample.ndjson"
#endif

namespace {

using supercache::render;
using supercache::node::node_role;
using clock_type = std::chrono::steady_clock;

/// Prints `error: what: err` on stderr; returns `status`.
int fail(const std::string& what, const caf::error& err, int status = 1) {
  std::cerr << "supercache-node: error: " << what;
  if (err)
    std::cerr << ": " << render(err);
  std::cerr << std::endl;
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

/// Ingests the configured input with `lazy_put`, flushes and prints the
/// `done` event. Used by the standalone and producer roles.
int ingest_and_report(const node_config& opts, const char* role) {
  auto start = clock_type::now();
  auto& input = opts.node.input;
  auto path = input.empty() ? std::string{SUPERCACHE_SAMPLE_INPUT} : input;
  std::ifstream file;
  if (path != "-") {
    file.open(path);
    if (!file)
      return fail("cannot read input '" + path + "'", caf::none);
  }
  std::istream& in = path == "-" ? std::cin : file;
  supercache::node::ingest_report report;
  report.errors = &std::cerr;
  if (isatty(STDERR_FILENO))
    report.progress = &std::cerr;
  auto res = supercache::node::ingest(
    in, [](supercache::record x) { return supercache::lazy_put(std::move(x)); },
    report);
  if (res.fatal)
    return fail("ingest stopped at line " + std::to_string(res.lines),
                res.fatal);
  if (auto err = supercache::flush())
    return fail("flush", err);
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
        {"lost", (*stats)["lost"]}});
  return 0;
}

/// Ingests with the cache that `started` (the result of `start` or
/// `connect`) brought up, then stops it.
int ingest_with(caf::error started, const char* what, const node_config& opts,
                const char* role) {
  if (started)
    return fail(what, started);
  auto status = ingest_and_report(opts, role);
  if (auto err = supercache::stop(); err && status == 0)
    return fail("stop", err);
  return status;
}

int run_standalone(caf::actor_system& sys, const node_config& opts) {
  return ingest_with(supercache::start(sys, opts.lib), "start", opts,
                     "standalone");
}

int run_producer(caf::actor_system& sys, const node_config& opts) {
  if (opts.lib.remote.empty())
    return fail("role \"producer\" needs supercache.remote = \"HOST:PORT\"",
                caf::none, 2);
  return ingest_with(supercache::connect(sys, opts.lib), "connect", opts,
                     "producer");
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

} // namespace

int main(int argc, char** argv) {
  // Every thread the actor system starts inherits this mask, so SIGINT and
  // SIGTERM reach only `sigwait` in the cache role.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  caf::actor_system_config cfg;
  supercache::configure(cfg);
  supercache::node::declare_options(cfg);
  if (auto err = cfg.parse(argc, argv, "caf-application.conf"))
    return fail("configuration", err, 2);
  if (cfg.cli_helptext_printed)
    return 0;
  auto lib_opts = supercache::options::from(cfg);
  if (!lib_opts)
    return fail("configuration", lib_opts.error(), 2);
  auto node_opts = supercache::node::options::from(cfg);
  if (!node_opts)
    return fail("configuration", node_opts.error(), 2);
  node_config opts{std::move(*lib_opts), std::move(*node_opts)};
  auto role = opts.node.role;
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
  if (role == node_role::cache)
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  caf::actor_system sys{cfg};
  int status = 1;
  switch (role) {
    case node_role::standalone:
      status = run_standalone(sys, opts);
      break;
    case node_role::cache:
      status = run_cache(sys, opts, signals);
      break;
    case node_role::producer:
      status = run_producer(sys, opts);
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
