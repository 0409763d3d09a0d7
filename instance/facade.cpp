// The seed API: `configure`, and the free functions over one default
// instance that `start(sys)` or `connect(sys)` creates.

#include <supercache/supercache.hpp>

#include <atomic>
#include <memory>
#include <mutex>
#include <vector>

#include "actors/messages.hpp"
#include "instance/waiting.hpp"

namespace supercache {

// -- configuration ---------------------------------------------------------------

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

// -- the default instance --------------------------------------------------------

namespace {

/// The facade's slot: the current default instance, and every earlier one.
/// An earlier instance is kept (stopped) until the process ends, since a
/// thread may still be inside one of its calls.
struct default_slot {
  std::mutex mtx;
  std::atomic<instance*> current{nullptr};
  std::vector<std::unique_ptr<instance>> all;
};

/// Never destroyed: at exit a default instance left running belongs to a
/// system that is gone, and must not try to stop.
default_slot& slot() {
  static auto* x = new default_slot;
  return *x;
}

/// Returns the default instance for a call from this thread, or the error.
caf::expected<instance*> current_for(const char* call) {
  auto p = slot().current.load(std::memory_order_acquire);
  if (p == nullptr)
    return make_error(errc::not_started);
  if (p->state().on_foreign_system())
    return make_error(errc::invalid_option,
                      std::string{call}
                        + " was called from a thread of another actor system "
                          "than the default instance's: use a "
                          "supercache::instance of that system");
  return p;
}

/// Makes a new default instance bound to `sys`, unless the current one runs.
caf::expected<instance*> fresh(caf::actor_system& sys) {
  auto& s = slot();
  auto p = s.current.load();
  if (p != nullptr && p->running())
    return make_error(errc::already_started,
                      &p->system() == &sys
                        ? "supercache is running"
                        : "the default instance runs in another actor system: "
                          "use a supercache::instance for this one");
  s.all.push_back(std::make_unique<instance>(sys));
  s.current.store(s.all.back().get(), std::memory_order_release);
  return s.all.back().get();
}

} // namespace

instance* default_instance() noexcept {
  return slot().current.load(std::memory_order_acquire);
}

caf::error start(caf::actor_system& sys) {
  auto opts = options::from(sys.config());
  if (!opts)
    return std::move(opts.error());
  return start(sys, *opts);
}

caf::error start(caf::actor_system& sys, const options& opts) {
  std::lock_guard<std::mutex> guard{slot().mtx};
  auto p = fresh(sys);
  if (!p)
    return std::move(p.error());
  return (*p)->start(opts);
}

caf::error connect(caf::actor_system& sys) {
  auto opts = options::from(sys.config());
  if (!opts)
    return std::move(opts.error());
  return connect(sys, *opts);
}

caf::error connect(caf::actor_system& sys, const options& opts) {
  std::lock_guard<std::mutex> guard{slot().mtx};
  auto p = fresh(sys);
  if (!p)
    return std::move(p.error());
  return (*p)->connect(opts);
}

caf::expected<uint16_t> publish(caf::actor_system& sys, uint16_t port,
                                const std::string& host) {
  auto p = current_for("publish");
  if (!p)
    return std::move(p.error());
  if (&(*p)->system() != &sys)
    return make_error(errc::invalid_option,
                      "publish: the cache runs in another actor system");
  return (*p)->publish(port, host);
}

// -- the calls -------------------------------------------------------------------

caf::error lazy_put(record x) {
  auto p = current_for("lazy_put");
  return p ? (*p)->lazy_put(std::move(x)) : std::move(p.error());
}

caf::error put(record x) {
  auto p = current_for("put");
  return p ? (*p)->put(std::move(x)) : std::move(p.error());
}

caf::error put_batch(std::vector<record> xs) {
  auto p = current_for("put_batch");
  return p ? (*p)->put_batch(std::move(xs)) : std::move(p.error());
}

caf::expected<std::vector<record>> get(const record& pattern) {
  auto p = current_for("get");
  if (!p)
    return std::move(p.error());
  return (*p)->get(pattern);
}

caf::error get(const record& pattern, std::vector<record>& out) {
  auto p = current_for("get");
  if (!p) {
    out.clear();
    return std::move(p.error());
  }
  return (*p)->get(pattern, out);
}

caf::expected<size_t> size() {
  auto p = current_for("size");
  if (!p)
    return std::move(p.error());
  return (*p)->size();
}

caf::error lazy_erase(const record& pattern) {
  auto p = current_for("lazy_erase");
  return p ? (*p)->lazy_erase(pattern) : std::move(p.error());
}

caf::expected<size_t> erase(const record& pattern) {
  auto p = current_for("erase");
  if (!p)
    return std::move(p.error());
  return (*p)->erase(pattern);
}

caf::expected<size_t> clear() {
  auto p = current_for("clear");
  if (!p)
    return std::move(p.error());
  return (*p)->clear();
}

caf::expected<std::vector<record>> match(const record& pattern) {
  auto p = current_for("match");
  if (!p)
    return std::move(p.error());
  return (*p)->match(pattern);
}

caf::error for_each(const std::function<void(const record&)>& visitor) {
  auto p = current_for("for_each");
  return p ? (*p)->for_each(visitor) : std::move(p.error());
}

caf::error flush() {
  auto p = current_for("flush");
  return p ? (*p)->flush() : std::move(p.error());
}

caf::error stop() {
  auto p = current_for("stop");
  return p ? (*p)->stop() : std::move(p.error());
}

caf::expected<nlohmann::json> stats() {
  auto p = current_for("stats");
  if (!p)
    return std::move(p.error());
  return (*p)->stats();
}

caf::expected<size_t> last_stop_size() {
  auto p = default_instance();
  if (p == nullptr)
    return make_error(errc::not_started, "supercache was never stopped");
  return p->last_stop_size();
}

caf::expected<options> running_options() {
  auto p = default_instance();
  if (p == nullptr)
    return make_error(errc::not_started, "supercache is not running");
  return p->running_options();
}

namespace buffer {

caf::error start(caf::actor_system& sys, size_t n) {
  auto p = current_for("buffer::start");
  if (!p)
    return make_error(errc::not_started,
                      "buffer::start needs a running cache (supercache::start)");
  auto& st = (*p)->state();
  if (&st.sys != &sys)
    return make_error(errc::invalid_option,
                      "buffer::start: the cache runs in another actor system");
  if (auto err = detail::refuse_on_worker(st, "buffer::start"))
    return err;
  std::lock_guard<std::mutex> guard{st.lifecycle};
  if (!st.load())
    return make_error(errc::not_started,
                      "buffer::start needs a running cache (supercache::start)");
  // The instance's shared state, for the supervisor's and front's hooks.
  return detail::start_buffers((*p)->shared_state(), n);
}

caf::error enqueue(record x) {
  return lazy_put(std::move(x));
}

caf::error stop() {
  auto p = current_for("buffer::stop");
  if (!p)
    return std::move(p.error());
  auto& st = (*p)->state();
  if (auto err = detail::refuse_on_worker(st, "buffer::stop"))
    return err;
  std::lock_guard<std::mutex> guard{st.lifecycle};
  return detail::stop_buffers(st);
}

} // namespace buffer

} // namespace supercache
