// The instance's lifecycle: construction, start, the buffers, the
// supervisor's restart hooks, stop and destruction.

#include <supercache/instance.hpp>

#include <cstdio>

#include <caf/actor_registry.hpp>
#include <caf/exit_reason.hpp>
#include <caf/io/middleman.hpp>
#include <caf/openssl/manager.hpp>
#include <caf/send.hpp>

#include <supercache/supercache.hpp>

#include "actors/buffer.hpp"
#include "actors/cache.hpp"
#include "actors/front.hpp"
#include "actors/supervisor.hpp"
#include "config/tls.hpp"
#include "core/routing.hpp"
#include "instance/waiting.hpp"

namespace supercache {

namespace detail {

// -- instance_state ------------------------------------------------------------

instance_state::instance_state(caf::actor_system& x)
  : sys(x),
    workers(routing::worker_threads(x)),
    logger(&x.logger()),
    id(routing::next_owner_id()),
    counters(std::make_shared<counter_board>()) {
  // nop
}

bool instance_state::on_foreign_system() const noexcept {
  return routing::place(id, workers, logger).foreign;
}

namespace {

/// Takes the retired views of `st` if no pinned call may read them any more
/// (every stripe seen at zero after they were replaced). Callers hold
/// `st.views_mtx`; the views are freed by the caller after releasing it.
std::vector<cache_ptr> take_unpinned(instance_state& st) {
  for (auto& x : st.readers)
    if (x.n.load() != 0)
      return {};
  return std::move(st.retired_views);
}

} // namespace

void instance_state::store(cache_ptr x) {
  std::vector<cache_ptr> unpinned;
  {
    std::lock_guard<std::mutex> guard{views_mtx};
    current.store(x.get());
    if (auto old = std::atomic_exchange(&cache, std::move(x)))
      retired_views.push_back(std::move(old));
    unpinned = take_unpinned(*this);
  }
}

bool instance_state::drain_views(std::chrono::milliseconds timeout) {
  auto until = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    std::vector<cache_ptr> unpinned;
    {
      std::lock_guard<std::mutex> guard{views_mtx};
      if (retired_views.empty())
        return true;
      unpinned = take_unpinned(*this);
    }
    if (!unpinned.empty())
      return true;
    if (std::chrono::steady_clock::now() >= until)
      return false;
    std::this_thread::yield();
  }
}

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

void reregister(caf::actor_system& sys, caf::atom_value name,
                const caf::actor& hdl) {
  sys.registry().erase(name);
  sys.registry().put(name, caf::actor_cast<caf::strong_actor_ptr>(hdl));
}

namespace {

/// Replaces partition `index` after `dead` died (the supervisor's hook): the
/// records it stored count as `lost_stored`, and those in flight to it from
/// buffers that died as well as `lost` (a live buffer counts its own).
std::optional<caf::actor> restart_partition(instance_state& st,
                                            uint32_t index,
                                            const caf::actor_addr& dead) {
  auto cache = st.load();
  if (!cache || index >= cache->partitions.size() || cache->remote
      || cache->partitions[index].address() != dead)
    return std::nullopt;
  st.counters->partition_gone(dead.id());
  auto view = std::make_shared<cache_view>(*cache);
  auto old = view->tables[index];
  auto tbl = std::make_shared<table>(
    view->opts.type, view->layout,
    table_limits{view->opts.ttl, view->opts.max_records, &st.sys.clock()});
  auto hdl = st.sys.spawn(cache_actor, index,
                          static_cast<uint32_t>(view->partitions.size()), tbl,
                          st.counters, st.guards);
  reregister(st.sys, cache_name(index + 1), hdl);
  view->partitions[index] = hdl;
  view->tables[index] = std::move(tbl);
  st.store(std::move(view));
  // A `put` that still writes into the old table retries with the new one;
  // what it stored before counts as lost with the old partition.
  old->close();
  st.lost_stored.fetch_add(old->size());
  std::fprintf(stderr,
               "supercache: cache partition %u died and was restarted; %zu "
               "stored records were lost with it\n",
               index + 1, old->size());
  return hdl;
}

} // namespace

caf::error start_front(const std::shared_ptr<instance_state>& ptr) {
  auto& st = *ptr;
  std::weak_ptr<instance_state> weak = ptr;
  front_hooks hooks;
  hooks.partitions = [weak] {
    auto p = weak.lock();
    auto x = p ? p->load() : nullptr;
    return x ? x->partitions : std::vector<caf::actor>{};
  };
  hooks.buffers = [weak] {
    std::vector<caf::actor> result;
    if (auto p = weak.lock()) {
      gate::pass pass{p->buffer_gate};
      if (pass.admitted())
        result.assign(p->buffers.begin(),
                      p->buffers.begin() + p->num_buffers);
    }
    return result;
  };
  auto opts = st.load()->opts;
  hooks.settings = [opts] { return settings_of(opts); };
  hooks.call_timeout = opts.call_timeout;
  hooks.size = [weak]() -> caf::expected<size_t> {
    auto p = weak.lock();
    auto x = p ? p->load() : nullptr;
    if (!x || x->remote)
      return make_error(errc::not_started, "no local cache");
    size_t n = 0;
    for (auto& tbl : x->tables)
      n += tbl->size();
    return n;
  };
  hooks.stats = [weak]() -> caf::expected<record> {
    auto p = weak.lock();
    if (!p)
      return make_error(errc::not_started);
    return local_stats(*p);
  };
  hooks.guards = st.guards;
  hooks.connector = [weak]() -> caf::expected<caf::actor> {
    auto p = weak.lock();
    if (!p)
      return make_error(errc::not_started);
    return link_opener(p->sys, "rejoin");
  };
  hooks.place = [weak]() -> std::shared_ptr<const cluster_place> {
    auto p = weak.lock();
    return p ? std::atomic_load(&p->place) : nullptr;
  };
  st.front = st.sys.spawn(front_actor, std::move(hooks));
  if (auto err = register_as(st.sys, instance::front_name(), st.front)) {
    deadline dl{st.sys, st.call_timeout};
    terminate(st.sys, {st.front}, dl, "front");
    st.front = nullptr;
    return err;
  }
  return caf::none;
}

} // namespace detail

using namespace detail;

// -- constructors ----------------------------------------------------------------

instance::instance(caf::actor_system& sys)
  : state_(std::make_shared<instance_state>(sys)) {
  // nop
}

instance::~instance() {
  if (running())
    static_cast<void>(stop());
}

// -- properties ------------------------------------------------------------------

caf::actor_system& instance::system() const noexcept {
  return state_->sys;
}

bool instance::running() const noexcept {
  return state_->load() != nullptr;
}

caf::expected<options> instance::running_options() const {
  if (auto cache = state_->load())
    return cache->opts;
  return make_error(errc::not_started, "supercache is not running");
}

caf::expected<size_t> instance::last_stop_size() const {
  auto n = state_->stopped_size.load();
  if (n < 0)
    return make_error(errc::not_started, "supercache was never stopped");
  return static_cast<size_t>(n);
}

caf::atom_value instance::front_name() noexcept {
  return caf::atom("supercache");
}

// -- lifecycle -------------------------------------------------------------------

caf::error instance::start() {
  auto opts = options::from(system().config());
  if (!opts)
    return std::move(opts.error());
  return start(*opts);
}

caf::error instance::start(const options& opts) {
  auto& st = *state_;
  if (auto err = refuse_on_worker(st, "start"))
    return err;
  std::lock_guard<std::mutex> guard{st.lifecycle};
  if (st.load() != nullptr)
    return make_error(errc::already_started, "supercache is running");
  if (auto err = opts.validate())
    return err;
  auto& sys = st.sys;
  auto view = std::make_shared<cache_view>();
  view->opts = opts;
  auto workers = std::max<size_t>(sys.scheduler().num_workers(), 1);
  if (view->opts.buffers == 0)
    view->opts.buffers = std::min(workers, max_registered_id);
  if (view->opts.partitions == 0)
    view->opts.partitions = std::min(workers, max_registered_id);
  view->layout = opts.layout();
  st.call_timeout = opts.call_timeout;
  auto undo = [&](caf::error err) {
    deadline dl{sys, opts.call_timeout};
    if (st.supervisor)
      terminate(sys, {st.supervisor}, dl, "supervisor");
    st.supervisor = nullptr;
    terminate(sys, view->partitions, dl, "cache partitions");
    for (size_t i = 1; i <= view->partitions.size(); ++i)
      sys.registry().erase(cache_name(i));
    st.store(nullptr);
    return err;
  };
  for (size_t i = 1; i <= view->opts.partitions; ++i) {
    auto tbl = std::make_shared<table>(
      opts.type, view->layout,
      table_limits{opts.ttl, opts.max_records, &sys.clock()});
    auto hdl = sys.spawn(cache_actor, static_cast<uint32_t>(i - 1),
                         static_cast<uint32_t>(view->opts.partitions), tbl,
                         st.counters, st.guards);
    if (auto err = register_as(sys, cache_name(i), hdl)) {
      send_local_exit(hdl, caf::exit_reason::user_shutdown);
      return undo(std::move(err));
    }
    view->partitions.push_back(hdl);
    view->tables.push_back(std::move(tbl));
  }
  st.store(view);
  st.lost_stored = 0;
  std::weak_ptr<instance_state> weak = state_;
  st.supervisor = sys.spawn(
    supervisor_actor,
    [weak](uint32_t i,
           const caf::actor_addr& dead) -> std::optional<caf::actor> {
      if (auto p = weak.lock())
        return restart_partition(*p, i, dead);
      return std::nullopt;
    },
    [weak](uint32_t i,
           const caf::actor_addr& dead) -> std::optional<caf::actor> {
      if (auto p = weak.lock())
        return restart_buffer(*p, i, dead);
      return caf::actor{};
    },
    st.guards);
  for (size_t i = 0; i < view->partitions.size(); ++i)
    caf::anon_send(st.supervisor, watch_atom::value, true,
                   static_cast<uint32_t>(i), view->partitions[i]);
  if (auto err = start_buffers(state_, view->opts.buffers))
    return undo(std::move(err));
  if (auto err = start_front(state_)) {
    stop_buffers(st);
    return undo(std::move(err));
  }
  return caf::none;
}

caf::error instance::stop() {
  auto& st = *state_;
  if (auto err = refuse_on_worker(st, "stop"))
    return err;
  std::lock_guard<std::mutex> guard{st.lifecycle};
  auto cache = st.load();
  if (!cache)
    return make_error(errc::not_started, "supercache is not running");
  auto& sys = st.sys;
  deadline dl{sys, st.call_timeout};
  caf::error result;
  if (st.front) {
    if (st.published_port != 0 && sys.has_middleman())
      sys.middleman().unpublish(st.front, st.published_port);
    sys.registry().erase(front_name());
    result = terminate(sys, {st.front}, dl, "front");
    st.front = nullptr;
    st.published_port = 0;
    std::atomic_store(&st.place, std::shared_ptr<const cluster_place>{});
  }
  if (st.buffers_running)
    if (auto err = stop_buffers(st); err && !result)
      result = std::move(err);
  if (cache->remote) {
    // The partitions belong to the cache node: leave them running. Once it
    // went away (the buffers said so), do not wait for it to answer.
    if (!(result == errc::unreachable)) {
      if (auto n = remote_size(st, *cache))
        st.stopped_size.store(static_cast<int64_t>(*n));
      else if (!result)
        result = std::move(n.error());
    }
    st.store(nullptr);
    st.peer.clear();
    std::atomic_store(&st.retired, {});
    st.drain_views(std::chrono::milliseconds{100});
    return result;
  }
  // The supervisor goes first, so the partitions' exits are not restarts;
  // until then it may have replaced partitions: reload the snapshot.
  if (auto err = terminate(sys, {st.supervisor}, dl, "supervisor");
      err && !result)
    result = std::move(err);
  st.supervisor = nullptr;
  cache = st.load();
  st.store(nullptr);
  if (auto err = terminate(sys, cache->partitions, dl, "cache partitions");
      err && !result)
    result = std::move(err);
  for (size_t i = 1; i <= cache->partitions.size(); ++i)
    sys.registry().erase(cache_name(i));
  int64_t stored = 0;
  for (auto& tbl : cache->tables) {
    tbl->close(); // a racing `put` now gets not_started
    stored += static_cast<int64_t>(tbl->size());
  }
  st.stopped_size.store(stored);
  // Nothing is in flight any more; the next start counts from 0.
  st.counters->clear();
  std::atomic_store(&st.retired, {});
  // Free the tables now, unless a pinned call still reads them (then the
  // next start frees them).
  st.drain_views(std::chrono::milliseconds{100});
  return result;
}

} // namespace supercache
