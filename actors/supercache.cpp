// The one running instance: cache partitions, buffers, and the lock-free table
// that `lazy_put` reads on the hot path (the `:persistent_term` analogue).

#include "supercache.hpp"

#include <array>
#include <cstdio>
#include <optional>
#include <atomic>
#include <memory>
#include <mutex>
#include <thread>

#include <caf/actor_registry.hpp>
#include <caf/deep_to_string.hpp>
#include <caf/io/middleman.hpp>
#include <caf/detail/test_actor_clock.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/sec.hpp>
#include <caf/send.hpp>

#include "actors/front.hpp"
#include "actors/gate.hpp"
#include "actors/latency.hpp"
#include "actors/names.hpp"
#include "actors/routing.hpp"
#include "actors/supervisor.hpp"

namespace supercache {

namespace {

// -- the running cache ---------------------------------------------------------

/// An immutable snapshot of a running cache, shared with readers.
struct cache_instance {
  caf::actor_system* sys = nullptr;
  options opts;
  record_layout layout;
  std::vector<caf::actor> partitions;
  /// Empty when the partitions are remote.
  std::vector<std::shared_ptr<table>> tables;
  /// The front of the cache node this instance connected to, or invalid.
  caf::actor remote;
  /// `HOST:PORT` of that node, for error messages.
  std::string peer;
};

using cache_ptr = std::shared_ptr<const cache_instance>;

/// Serializes start and stop.
std::mutex lifecycle;

/// The running cache, or null; read with `std::atomic_load`.
cache_ptr running_cache;

cache_ptr load_cache() {
  return std::atomic_load(&running_cache);
}

// -- the running buffers ---------------------------------------------------------

/// Admits `enqueue` and `flush` while the buffers run.
gate buffer_gate;

/// Fields read by `enqueue` after its pass was admitted; written only while
/// the gate is closed and drained.
std::array<caf::actor, max_registered_id> buffers;
std::array<std::shared_ptr<buffer_counters>, max_registered_id> counters;
size_t num_buffers = 0;
record_layout hot_layout;
size_t hot_partitions = 1;
size_t hot_max_pending = 1;
overflow_policy hot_overflow = overflow_policy::block;
caf::timespan hot_block_timeout{0};

/// Records in the cache when the last `stop` ended it; -1 before any stop.
std::atomic<int64_t> stopped_size{-1};

/// The system the buffers run in, or null.
caf::actor_system* buffer_sys = nullptr;

// -- waiting -----------------------------------------------------------------------

/// Under CAF's test coordinator nothing runs unless the waiting thread runs
/// it: processes messages and fires timers until `self` has mail, so that the
/// blocking calls work in deterministic tests too. No-op on other schedulers.
void await_mail(caf::scoped_actor& self, caf::actor_system& sys) {
  using caf::scheduler::test_coordinator;
  auto tc = dynamic_cast<test_coordinator*>(&sys.scheduler());
  if (tc == nullptr)
    return;
  for (size_t i = 0; i < 10'000'000 && self->mailbox().empty(); ++i)
    if (!tc->try_run_once())
      tc->clock().trigger_timeout();
}

// -- registry helpers --------------------------------------------------------------

/// Registers `hdl` as `name`; fails if the name is taken.
caf::error register_as(caf::actor_system& sys, caf::atom_value name,
                       const caf::actor& hdl) {
  auto& reg = sys.registry();
  if (reg.get(name) != nullptr)
    return make_error(errc::already_started,
                      "the registry name '" + caf::to_string(name)
                        + "' is taken by another actor");
  reg.put(name, caf::actor_cast<caf::strong_actor_ptr>(hdl));
  return caf::none;
}

/// Terminates `hdls` with `reason`, waits until they are gone and erases
/// `names` from the registry.
void terminate(caf::actor_system& sys, const std::vector<caf::actor>& hdls,
               caf::atom_value (*name)(size_t)) {
  caf::scoped_actor self{sys};
  for (auto& hdl : hdls)
    self->monitor(hdl);
  for (auto& hdl : hdls)
    self->send_exit(hdl, caf::exit_reason::user_shutdown);
  for (size_t i = 0; i < hdls.size(); ++i) {
    await_mail(self, sys);
    self->receive([](caf::down_msg&) {});
  }
  if (name != nullptr)
    for (size_t i = 1; i <= hdls.size(); ++i)
      sys.registry().erase(name(i));
}

// -- lifecycle (callers hold `lifecycle`) --------------------------------------

/// The supervisor of the running instance, or invalid.
caf::actor supervisor;

/// The front of the published cache and its port, or invalid.
caf::actor published_front;
uint16_t published_port = 0;

/// `HOST:PORT` of the cache node the buffers stream to, for `lazy_put`'s
/// error once it went away; empty for a local cache.
std::string hot_peer;

/// Turns the failure of a request to the cache node of `cache` into
/// `errc::unreachable` naming the node.
caf::error remote_error(const cache_instance& cache, const caf::error& err) {
  if (err.category() == error_category)
    return err;
  if (err == caf::sec::request_timeout)
    return make_error(errc::unreachable,
                      "the cache node at " + cache.peer
                        + " did not answer within "
                        + caf::deep_to_string(cache.opts.connect_timeout));
  return make_error(errc::unreachable, "the cache node at " + cache.peer
                                         + " failed: " + render(err));
}

/// Asks the cache node of `cache` for its number of records.
caf::expected<size_t> remote_size(const cache_instance& cache) {
  caf::scoped_actor self{*cache.sys};
  caf::expected<size_t> result{size_t{0}};
  self->request(cache.remote, cache.opts.connect_timeout, size_atom::value)
    .receive([&](uint64_t n) { result = static_cast<size_t>(n); },
             [&](caf::error& err) { result = remote_error(cache, err); });
  return result;
}

/// Terminates the front of the published cache, closing its port.
void unpublish(caf::actor_system& sys) {
  if (!published_front)
    return;
  if (sys.has_middleman())
    sys.middleman().unpublish(published_front, published_port);
  terminate(sys, {published_front}, nullptr);
  published_front = nullptr;
  published_port = 0;
}

/// Records stored in partitions that died (gone with them).
std::atomic<uint64_t> lost_stored{0};

/// Spawns buffer `index` (0-based) with the counters in `counters[index]`.
caf::actor spawn_buffer(caf::actor_system& sys, const cache_instance& cache,
                        size_t index) {
  buffer_settings settings;
  settings.layout = cache.layout;
  settings.max_pending = cache.opts.max_pending;
  settings.overflow = cache.opts.overflow;
  settings.counters = counters[index];
  settings.index = static_cast<uint32_t>(index);
  settings.remote = static_cast<bool>(cache.remote);
  return sys.spawn(buffer_actor, cache.partitions, std::move(settings));
}

/// Replaces partition `index` after it died (called by the supervisor).
std::optional<partition_restart> restart_partition(uint32_t index) {
  auto cache = load_cache();
  if (!cache || index >= cache->partitions.size())
    return std::nullopt;
  auto& sys = *cache->sys;
  auto inst = std::make_shared<cache_instance>(*cache);
  auto old = inst->tables[index];
  auto tbl = std::make_shared<table>(inst->opts.type, inst->layout);
  auto hdl = sys.spawn(cache_actor, tbl);
  auto name = cache_name(index + 1);
  sys.registry().erase(name);
  sys.registry().put(name, caf::actor_cast<caf::strong_actor_ptr>(hdl));
  inst->partitions[index] = hdl;
  inst->tables[index] = std::move(tbl);
  lost_stored.fetch_add(old->size());
  std::atomic_store(&running_cache, cache_ptr{inst});
  std::fprintf(stderr,
               "supercache: cache partition %u died and was restarted; %zu "
               "stored records were lost with it\n",
               index + 1, old->size());
  return partition_restart{hdl, std::move(old)};
}

/// Replaces buffer `index` after it died (called by the supervisor); the
/// records it held are counted as lost (those it had shipped reach the
/// partitions, which order the replacement's barriers behind them).
std::optional<caf::actor> restart_buffer(uint32_t index) {
  std::unique_lock<std::mutex> guard{lifecycle, std::try_to_lock};
  if (!guard)
    return std::nullopt;
  auto cache = load_cache();
  if (buffer_sys == nullptr || !cache || index >= num_buffers)
    return caf::actor{};
  buffer_gate.close_and_wait(); // producers see not_started meanwhile
  auto& ctr = *counters[index];
  auto held = ctr.pending();
  ctr.lost += held;
  ctr.lost_held += held;
  auto hdl = spawn_buffer(*buffer_sys, *cache, index);
  auto name = buffer::name(index + 1);
  buffer_sys->registry().erase(name);
  buffer_sys->registry().put(name, caf::actor_cast<caf::strong_actor_ptr>(hdl));
  buffers[index] = hdl;
  buffer_gate.open();
  std::fprintf(stderr,
               "supercache: buffer %u died and was replaced; %llu records "
               "it held were lost\n",
               index + 1, static_cast<unsigned long long>(held));
  return hdl;
}

caf::error start_buffers(caf::actor_system& sys, size_t n) {
  if (buffer_sys != nullptr)
    return make_error(errc::already_started, "the buffers are running");
  if (n == 0 || n > max_registered_id)
    return make_error(errc::invalid_option,
                      "buffers = " + std::to_string(n) + ": must be 1.."
                        + std::to_string(max_registered_id));
  auto cache = load_cache();
  if (!cache)
    return make_error(errc::not_started,
                      "buffer::start needs a running cache (supercache::start)");
  if (cache->sys != &sys)
    return make_error(errc::invalid_option,
                      "buffer::start: the cache runs in another actor system");
  std::vector<caf::actor> started;
  for (size_t i = 1; i <= n; ++i) {
    counters[i - 1] = std::make_shared<buffer_counters>();
    auto hdl = spawn_buffer(sys, *cache, i - 1);
    if (supervisor)
      caf::anon_send(supervisor, watch_atom::value, false,
                     static_cast<uint32_t>(i - 1), hdl);
    started.push_back(hdl);
    if (auto err = register_as(sys, buffer::name(i), hdl)) {
      started.pop_back();
      caf::anon_send_exit(hdl, caf::exit_reason::user_shutdown);
      terminate(sys, started, buffer::name);
      return err;
    }
  }
  for (size_t i = 0; i < n; ++i)
    buffers[i] = started[i];
  num_buffers = n;
  hot_layout = cache->layout;
  hot_partitions = cache->partitions.size();
  hot_max_pending = cache->opts.max_pending;
  hot_overflow = cache->opts.overflow;
  hot_block_timeout = cache->opts.block_timeout;
  buffer_sys = &sys;
  routing::learn_workers(sys);
  buffer_gate.open();
  return caf::none;
}

caf::error stop_buffers() {
  if (buffer_sys == nullptr)
    return make_error(errc::not_started, "no buffers are running");
  buffer_gate.close_and_wait();
  // Every accepted record is now in a mailbox, ahead of the stop message.
  auto& sys = *buffer_sys;
  caf::error result;
  {
    caf::scoped_actor self{sys};
    for (size_t i = 0; i < num_buffers; ++i) {
      self->monitor(buffers[i]);
      auto reply = self->request(buffers[i], caf::infinite, stop_atom::value);
      await_mail(self, sys);
      reply.receive([](caf::ok_atom) {},
                 [&](caf::error& err) {
                   if (!result)
                     result = std::move(err);
                 });
    }
    for (size_t i = 0; i < num_buffers; ++i) {
      await_mail(self, sys);
      self->receive([](caf::down_msg&) {});
    }
  }
  for (size_t i = 0; i < num_buffers; ++i) {
    sys.registry().erase(buffer::name(i + 1));
    buffers[i] = nullptr;
    counters[i] = nullptr;
  }
  num_buffers = 0;
  buffer_sys = nullptr;
  return result;
}

} // namespace

// -- configuration -----------------------------------------------------------------

void configure(caf::actor_system_config& cfg) {
  declare_options(cfg);
  cfg.add_message_type<record>("supercache::record");
  cfg.add_message_type<entry>("supercache::entry");
  cfg.add_message_type<std::vector<record>>("supercache::records");
  cfg.add_error_category(error_category,
                         [](uint8_t code, caf::atom_value,
                            const caf::message& context) {
                           caf::error err{code, error_category, context};
                           return render(err);
                         });
}

// -- lifecycle ---------------------------------------------------------------------

caf::error start(caf::actor_system& sys) {
  auto opts = options::from(sys.config());
  if (!opts)
    return std::move(opts.error());
  return start(sys, *opts);
}

caf::error start(caf::actor_system& sys, const options& opts) {
  std::lock_guard<std::mutex> guard{lifecycle};
  if (load_cache() != nullptr)
    return make_error(errc::already_started, "supercache is running");
  if (auto err = opts.validate())
    return err;
  auto inst = std::make_shared<cache_instance>();
  inst->sys = &sys;
  inst->opts = opts;
  auto workers = std::max<size_t>(sys.scheduler().num_workers(), 1);
  if (inst->opts.buffers == 0)
    inst->opts.buffers = std::min(workers, max_registered_id);
  if (inst->opts.partitions == 0)
    inst->opts.partitions = std::min(workers, max_registered_id);
  inst->layout = opts.layout();
  for (size_t i = 1; i <= inst->opts.partitions; ++i) {
    auto tbl = std::make_shared<table>(opts.type, inst->layout);
    auto hdl = sys.spawn(cache_actor, tbl);
    if (auto err = register_as(sys, cache_name(i), hdl)) {
      caf::anon_send_exit(hdl, caf::exit_reason::user_shutdown);
      terminate(sys, inst->partitions, cache_name);
      return err;
    }
    inst->partitions.push_back(hdl);
    inst->tables.push_back(std::move(tbl));
  }
  std::atomic_store(&running_cache, cache_ptr{inst});
  lost_stored = 0;
  supervisor = sys.spawn(supervisor_actor, restart_partition, restart_buffer);
  for (size_t i = 0; i < inst->partitions.size(); ++i)
    caf::anon_send(supervisor, watch_atom::value, true,
                   static_cast<uint32_t>(i), inst->partitions[i]);
  if (auto err = start_buffers(sys, inst->opts.buffers)) {
    terminate(sys, {supervisor}, nullptr);
    supervisor = nullptr;
    terminate(sys, inst->partitions, cache_name);
    std::atomic_store(&running_cache, cache_ptr{});
    return err;
  }
  return caf::none;
}

caf::error stop() {
  std::lock_guard<std::mutex> guard{lifecycle};
  auto cache = load_cache();
  if (!cache)
    return make_error(errc::not_started, "supercache is not running");
  unpublish(*cache->sys);
  caf::error result;
  if (buffer_sys != nullptr)
    result = stop_buffers();
  if (cache->remote) {
    // The partitions belong to the cache node: leave them running. Once it
    // went away (the buffers said so), do not wait for it to answer.
    auto gone = result && result.category() == error_category
                && result.code() == static_cast<uint8_t>(errc::unreachable);
    if (!gone) {
      if (auto n = remote_size(*cache))
        stopped_size.store(static_cast<int64_t>(*n));
      else if (!result)
        result = std::move(n.error());
    }
    std::atomic_store(&running_cache, cache_ptr{});
    hot_peer.clear();
    return result;
  }
  // The supervisor goes first, so the partitions' exits are not restarts;
  // until then it may have replaced partitions: reload the snapshot.
  terminate(*cache->sys, {supervisor}, nullptr);
  supervisor = nullptr;
  cache = load_cache();
  std::atomic_store(&running_cache, cache_ptr{});
  terminate(*cache->sys, cache->partitions, cache_name);
  int64_t stored = 0;
  for (auto& tbl : cache->tables)
    stored += static_cast<int64_t>(tbl->size());
  stopped_size.store(stored);
  return result;
}

// -- remote ------------------------------------------------------------------------

namespace {

caf::error need_middleman(caf::actor_system& sys, const char* what) {
  if (sys.has_middleman())
    return caf::none;
  return make_error(errc::invalid_option,
                    std::string{what}
                      + " needs CAF's network layer: call "
                        "cfg.load<caf::io::middleman>() before constructing "
                        "the actor system");
}

/// Returns the layout settings a front reports to producers.
record settings_of(const options& opts) {
  return {{"key-pos", opts.key_pos},
          {"partition-pos", opts.partition_pos},
          {"table-type", to_string(opts.type)}};
}

/// Checks the partitions and settings a cache node sent against `opts`.
caf::error check_peer(const options& opts, const std::string& peer,
                      const std::vector<caf::actor>& parts,
                      const record& settings) {
  auto bad = [&](std::string what) {
    return make_error(errc::unreachable,
                      "the cache node at " + peer + " " + what);
  };
  if (parts.empty() || parts.size() > max_registered_id)
    return bad("reported " + std::to_string(parts.size()) + " partitions");
  for (auto& hdl : parts)
    if (!hdl)
      return bad("reported a partition that is not running");
  auto pos = [&](const char* key) -> std::optional<size_t> {
    auto i = settings.find(key);
    if (i == settings.end() || !i->is_number_unsigned())
      return std::nullopt;
    return i->get<size_t>();
  };
  auto key_pos = pos("key-pos");
  auto partition_pos = pos("partition-pos");
  if (!key_pos || !partition_pos)
    return bad("sent settings without key-pos or partition-pos: "
               + settings.dump());
  if (*key_pos != opts.key_pos || *partition_pos != opts.partition_pos)
    return make_error(errc::invalid_option,
                      "the cache node at " + peer + " has key-pos = "
                        + std::to_string(*key_pos) + ", partition-pos = "
                        + std::to_string(*partition_pos)
                        + "; this node has key-pos = "
                        + std::to_string(opts.key_pos) + ", partition-pos = "
                        + std::to_string(opts.partition_pos)
                        + ": set the same values on both");
  return caf::none;
}

} // namespace

caf::expected<uint16_t> publish(caf::actor_system& sys, uint16_t port,
                                const std::string& host) {
  std::lock_guard<std::mutex> guard{lifecycle};
  auto cache = load_cache();
  if (!cache)
    return make_error(errc::not_started,
                      "publish needs a running cache (supercache::start)");
  if (cache->remote)
    return make_error(errc::invalid_option,
                      "publish: this instance streams to the cache node at "
                        + cache->peer + "; publish that one");
  if (cache->sys != &sys)
    return make_error(errc::invalid_option,
                      "publish: the cache runs in another actor system");
  if (auto err = need_middleman(sys, "publish"))
    return err;
  if (published_front)
    return make_error(errc::already_started,
                      "the cache is already published on port "
                        + std::to_string(published_port));
  front_hooks hooks;
  hooks.partitions = [] {
    auto x = load_cache();
    return x ? x->partitions : std::vector<caf::actor>{};
  };
  auto opts = cache->opts;
  hooks.settings = [opts] { return settings_of(opts); };
  hooks.size = [] { return size(); };
  hooks.stats = [] { return stats(); };
  auto hdl = sys.spawn(front_actor, std::move(hooks));
  auto res = sys.middleman().publish(hdl, port,
                                     host.empty() ? nullptr : host.c_str());
  if (!res) {
    terminate(sys, {hdl}, nullptr);
    return make_error(errc::invalid_option,
                      "cannot listen on " + host + ":" + std::to_string(port)
                        + ": " + render(res.error()));
  }
  published_front = hdl;
  published_port = *res;
  return *res;
}

caf::error connect(caf::actor_system& sys) {
  auto opts = options::from(sys.config());
  if (!opts)
    return std::move(opts.error());
  return connect(sys, *opts);
}

caf::error connect(caf::actor_system& sys, const options& opts) {
  std::lock_guard<std::mutex> guard{lifecycle};
  if (load_cache() != nullptr)
    return make_error(errc::already_started, "supercache is running");
  if (auto err = opts.validate())
    return err;
  if (opts.remote.empty())
    return make_error(errc::invalid_option,
                      "connect needs supercache.remote = \"HOST:PORT\"");
  auto ep = parse_endpoint(opts.remote);
  if (!ep)
    return std::move(ep.error());
  if (auto err = need_middleman(sys, "connect"))
    return err;
  auto inst = std::make_shared<cache_instance>();
  inst->sys = &sys;
  inst->opts = opts;
  inst->peer = opts.remote;
  auto front = sys.middleman().remote_actor(ep->host, ep->port);
  if (!front)
    return make_error(errc::unreachable,
                      "cannot connect to the cache node at " + inst->peer
                        + ": " + render(front.error()));
  inst->remote = *front;
  record settings;
  caf::error err;
  {
    caf::scoped_actor self{sys};
    self->request(inst->remote, opts.connect_timeout, caf::get_atom::value)
      .receive(
        [&](std::vector<caf::actor>& parts, record& xs) {
          inst->partitions = std::move(parts);
          settings = std::move(xs);
        },
        [&](caf::error& x) { err = remote_error(*inst, x); });
  }
  if (!err)
    err = check_peer(opts, inst->peer, inst->partitions, settings);
  if (err)
    return err;
  auto workers = std::max<size_t>(sys.scheduler().num_workers(), 1);
  if (inst->opts.buffers == 0)
    inst->opts.buffers = std::min(workers, max_registered_id);
  inst->opts.partitions = inst->partitions.size();
  if (settings.value("table-type", "set") == "bag")
    inst->opts.type = table_type::bag;
  else
    inst->opts.type = table_type::set;
  inst->layout = inst->opts.layout();
  std::atomic_store(&running_cache, cache_ptr{inst});
  lost_stored = 0;
  hot_peer = inst->peer;
  if (auto err2 = start_buffers(sys, inst->opts.buffers)) {
    std::atomic_store(&running_cache, cache_ptr{});
    hot_peer.clear();
    return err2;
  }
  return caf::none;
}

caf::expected<size_t> last_stop_size() {
  auto n = stopped_size.load();
  if (n < 0)
    return make_error(errc::not_started, "supercache was never stopped");
  return static_cast<size_t>(n);
}

caf::expected<options> running_options() {
  if (auto cache = load_cache())
    return cache->opts;
  return make_error(errc::not_started, "supercache is not running");
}

// -- writing and reading -----------------------------------------------------------

caf::error lazy_put(record x) {
  return buffer::enqueue(std::move(x));
}

caf::error put(record x) {
  auto cache = load_cache();
  if (!cache)
    return make_error(errc::not_started);
  if (auto err = validate(x, cache->layout))
    return err;
  auto p = partition_of(x, cache->layout, cache->partitions.size());
  caf::error result;
  caf::scoped_actor self{*cache->sys};
  auto timeout = cache->remote ? caf::duration{cache->opts.connect_timeout}
                               : caf::infinite;
  auto reply = self->request(cache->partitions[p], timeout,
                             caf::put_atom::value, std::move(x));
  await_mail(self, *cache->sys);
  reply.receive([](caf::ok_atom) {},
                [&](caf::error& err) {
                  result = cache->remote ? remote_error(*cache, err)
                                         : std::move(err);
                });
  return result;
}

caf::expected<std::vector<record>> get(const record& pattern) {
  auto cache = load_cache();
  if (!cache)
    return make_error(errc::not_started);
  if (auto err = validate(pattern, cache->layout))
    return err;
  auto p = partition_of(pattern, cache->layout, cache->partitions.size());
  if (!cache->remote)
    return cache->tables[p]->get(key_of(pattern, cache->layout));
  caf::scoped_actor self{*cache->sys};
  caf::expected<std::vector<record>> result{std::vector<record>{}};
  self
    ->request(cache->partitions[p], cache->opts.connect_timeout,
              caf::get_atom::value, pattern)
    .receive([&](std::vector<record>& xs) { result = std::move(xs); },
             [&](caf::error& err) { result = remote_error(*cache, err); });
  return result;
}

caf::expected<size_t> size() {
  auto cache = load_cache();
  if (!cache)
    return make_error(errc::not_started);
  if (cache->remote)
    return remote_size(*cache);
  size_t result = 0;
  for (auto& tbl : cache->tables)
    result += tbl->size();
  return result;
}

caf::expected<nlohmann::json> stats() {
  auto cache = load_cache();
  if (!cache)
    return make_error(errc::not_started);
  auto parts = nlohmann::json::array();
  size_t records = 0;
  size_t batches = 0;
  size_t batched = 0;
  latency_histogram latency;
  for (auto& tbl : cache->tables) {
    latency.merge(tbl->latency());
    parts.push_back(to_json(*tbl));
    records += tbl->size();
    batches += tbl->batches();
    batched += tbl->batched_records();
  }
  double avg = batches > 0 ? static_cast<double>(batched) / batches : 0.0;
  auto bufs = nlohmann::json::array();
  buffer_counters total;
  {
    gate::pass pass{buffer_gate};
    if (pass.admitted())
      for (size_t i = 0; i < num_buffers; ++i) {
        auto& c = *counters[i];
        bufs.push_back(to_json(c));
        total.enqueued += c.enqueued.load();
        total.written += c.written.load();
        total.rejected += c.rejected.load();
        total.dropped += c.dropped.load();
        total.lost += c.lost.load();
        total.lost_held += c.lost_held.load();
        total.batches += c.batches.load();
      }
  }
  auto totals = to_json(total);
  if (cache->remote) {
    // The partitions, their records and latencies are the cache node's.
    caf::scoped_actor self{*cache->sys};
    caf::expected<record> node{record{}};
    self->request(cache->remote, cache->opts.connect_timeout, stats_atom::value)
      .receive([&](record& x) { node = std::move(x); },
               [&](caf::error& err) { node = remote_error(*cache, err); });
    if (!node)
      return std::move(node.error());
    auto result = totals;
    result["records"] = (*node)["records"];
    result["lost_stored"] = (*node)["lost_stored"];
    result["buffers"] = std::move(bufs);
    result["cache_node"] = std::move(*node);
    return result;
  }
  auto us = [&](double q) { return latency.percentile(q) / 1e3; };
  return nlohmann::json{{"records", records},
                        {"enqueued", totals["enqueued"]},
                        {"written", totals["written"]},
                        {"rejected", totals["rejected"]},
                        {"dropped", totals["dropped"]},
                        {"lost", totals["lost"]},
                        {"lost_stored", lost_stored.load()},
                        {"pending", totals["pending"]},
                        {"batches", batches},
                        {"avg_batch", avg},
                        {"latency_us",
                         {{"samples", latency.count()},
                          {"p50", us(0.5)},
                          {"p99", us(0.99)},
                          {"p999", us(0.999)},
                          {"max", latency.max() / 1e3}}},
                        {"buffers", std::move(bufs)},
                        {"partitions", std::move(parts)}};
}

caf::error flush() {
  std::vector<caf::actor> targets;
  caf::actor_system* sys = nullptr;
  {
    gate::pass pass{buffer_gate};
    if (!pass.admitted())
      return make_error(errc::not_started);
    targets.assign(buffers.begin(), buffers.begin() + num_buffers);
    sys = buffer_sys;
  }
  caf::error result;
  caf::scoped_actor self{*sys};
  for (auto& hdl : targets) {
    auto reply = self->request(hdl, caf::infinite, caf::flush_atom::value);
    await_mail(self, *sys);
    reply.receive([](caf::ok_atom) {},
                  [&](caf::error& err) {
                    if (result)
                      return;
                    if (err == caf::sec::request_receiver_down)
                      result = make_error(errc::not_started,
                                          "the buffers stopped during flush");
                    else
                      result = std::move(err);
                  });
  }
  return result;
}

// -- buffers -----------------------------------------------------------------------

namespace buffer {

caf::error start(caf::actor_system& sys, size_t n) {
  std::lock_guard<std::mutex> guard{lifecycle};
  return start_buffers(sys, n);
}

namespace {

/// Waits a little before a blocked `enqueue` looks for room again: yields at
/// first, then sleeps up to 1 ms. Under the test coordinator (`tc`), runs
/// one job or fires one timer instead, since nothing else would drain.
void back_off(size_t attempt, caf::scheduler::test_coordinator* tc) {
  if (tc != nullptr) {
    if (!tc->try_run_once())
      tc->clock().trigger_timeout();
    return;
  }
  if (attempt < 64) {
    std::this_thread::yield();
    return;
  }
  auto us = std::min<int64_t>(1000, 10 * static_cast<int64_t>(attempt - 63));
  std::this_thread::sleep_for(std::chrono::microseconds(us));
}

caf::error overloaded(size_t buffer_index) {
  return make_error(errc::overloaded,
                    caf::to_string(buffer::name(buffer_index + 1))
                      + " holds max-pending = "
                      + std::to_string(hot_max_pending) + " records");
}

} // namespace

caf::error enqueue(record x) {
  packed value;
  uint64_t hash = 0;
  std::chrono::steady_clock::time_point deadline;
  caf::scheduler::test_coordinator* tc = nullptr;
  for (size_t attempt = 0;; ++attempt) {
    {
      gate::pass pass{buffer_gate};
      if (!pass.admitted())
        return make_error(errc::not_started);
      if (attempt == 0) {
        if (auto err = validate(x, hot_layout))
          return err;
        std::tie(value, hash) = packed::pack(x, hot_layout);
      }
      auto index = routing::current_lane() % num_buffers;
      auto& ctr = *counters[index];
      if (ctr.unreachable.load(std::memory_order_relaxed))
        return make_error(errc::unreachable,
                          "the cache node at " + hot_peer
                            + " went away; records accepted since the last "
                              "flush may be lost (see stats: lost)");
      // Under drop-oldest the buffer makes room by dropping; should it fall
      // behind by twice the bound, the producer waits for it (never fails).
      auto limit = hot_overflow == overflow_policy::drop_oldest
                     ? 2 * hot_max_pending
                     : hot_max_pending;
      if (ctr.pending() < limit) {
        entry e;
        e.partition = partition_index(hash, hot_partitions);
        e.value = std::move(value);
        thread_local uint32_t sample_countdown = 0;
        if (sample_countdown-- == 0) {
          sample_countdown = latency_sample_every - 1;
          e.enqueued_ns = steady_ns();
        }
        ctr.enqueued.fetch_add(1, std::memory_order_relaxed);
        caf::anon_send(buffers[index], std::move(e));
        return caf::none;
      }
      auto now = std::chrono::steady_clock::now();
      if (attempt == 0)
        deadline = now + hot_block_timeout;
      if (hot_overflow == overflow_policy::reject
          || (hot_overflow == overflow_policy::block && now >= deadline)) {
        ctr.rejected.fetch_add(1, std::memory_order_relaxed);
        return overloaded(index);
      }
      if (attempt == 0)
        tc = dynamic_cast<caf::scheduler::test_coordinator*>(
          &buffer_sys->scheduler());
    }
    // Wait outside the gate, so that `stop` never waits for a blocked call.
    back_off(attempt, tc);
  }
}

caf::error stop() {
  std::lock_guard<std::mutex> guard{lifecycle};
  return stop_buffers();
}

} // namespace buffer

} // namespace supercache
