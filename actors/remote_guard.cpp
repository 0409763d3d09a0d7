#include "actors/remote_guard.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <mutex>

#include <caf/system_messages.hpp>
#include <caf/message_view.hpp>
#include <caf/sec.hpp>
#include <caf/type_erased_tuple.hpp>

#include "core/canonical.hpp"
#include "core/names.hpp"

namespace supercache {

// -- counters -----------------------------------------------------------------

void log_refused(const std::string& what) {
  // At most one line per second after the first ones: a flood of junk must
  // not turn into a flood of log lines.
  constexpr uint64_t burst = 20;
  using clock = std::chrono::steady_clock;
  static std::mutex mtx;
  static uint64_t logged = 0;
  static uint64_t held_back = 0;
  static clock::time_point last;
  std::lock_guard<std::mutex> guard{mtx};
  auto now = clock::now();
  if (logged >= burst && now - last < std::chrono::seconds(1)) {
    ++held_back;
    return;
  }
  ++logged;
  last = now;
  if (held_back > 0)
    std::fprintf(stderr, "supercache: %s (and %llu more not logged)\n",
                 what.c_str(), static_cast<unsigned long long>(held_back));
  else
    std::fprintf(stderr, "supercache: %s\n", what.c_str());
  held_back = 0;
}

// -- pure checks --------------------------------------------------------------

bool is_local(const caf::strong_actor_ptr& sender, const caf::node_id& self) {
  return sender != nullptr && sender->node() == self;
}

void send_local_exit(const caf::actor& hdl, caf::exit_reason reason) {
  if (!hdl)
    return;
  auto ptr = caf::actor_cast<caf::strong_actor_ptr>(hdl);
  hdl->enqueue(ptr, caf::make_message_id(),
               caf::make_message(caf::exit_msg{hdl.address(), reason}),
               nullptr);
}

bool check_entry(const entry& x, size_t partitions) noexcept {
  return !is_barrier(x) && x.partition < partitions;
}

size_t check_batch(std::vector<entry>& batch, uint32_t partition) noexcept {
  size_t blanked = 0;
  for (auto& x : batch)
    if (!is_barrier(x) && x.partition != partition && !x.value.empty()) {
      x.value = packed{};
      ++blanked;
    }
  return blanked;
}

namespace {

/// Returns whether `x` is a valid record of `partition` whose key is the
/// one it claims: read off its bytes when they are canonical (all that
/// this library packs), else decoded.
bool owned(const packed& x, uint32_t partition, size_t partitions,
           const record_layout& layout) {
  if (auto c = scan_canonical(x.bytes(), layout))
    return c->elements > std::max(layout.key_pos, layout.partition_pos)
           && c->key == x.key()
           && partition_index(partition_hash(c->partition), partitions)
                == partition;
  auto rec = x.unpack();
  return !rec.is_discarded() && !validate(rec, layout)
         && key_of(rec, layout) == x.key()
         && partition_of(rec, layout, partitions) == partition;
}

} // namespace

size_t check_owner(std::vector<entry>& batch, uint32_t partition,
                   size_t partitions, const record_layout& layout) {
  size_t blanked = 0;
  for (auto& x : batch) {
    if (is_barrier(x) || x.value.empty())
      continue;
    if (owned(x.value, partition, partitions, layout))
      continue;
    x.value = packed{};
    ++blanked;
  }
  return blanked;
}

bool check_handshake(uint32_t buffer_index) noexcept {
  return buffer_index < max_registered_id;
}

// -- guarded_actor ------------------------------------------------------------

guarded_actor::guarded_actor(caf::actor_config& cfg) : super(cfg) {
  set_default_handler(
    [this](caf::scheduled_actor* self,
           caf::message_view& x) -> caf::result<caf::message> {
      guards().unexpected.fetch_add(1, std::memory_order_relaxed);
      log_refused(std::string{"unexpected message to "} + self->name()
                  + " dropped: " + x.content().stringify().substr(0, 200));
      return caf::sec::unexpected_message;
    });
  // CAF's default error handler quits the actor with the error: any peer
  // could stop a partition by sending it a `caf::error` (or by answering
  // one of its messages with one). Our actors send no requests whose
  // errors land here, so every such error is unexpected.
  set_error_handler([this](caf::scheduled_actor* self, caf::error& err) {
    guards().unexpected.fetch_add(1, std::memory_order_relaxed);
    log_refused(std::string{"an error message to "} + self->name()
                + " was ignored: " + to_string(err).substr(0, 200));
  });
}

void guarded_actor::count_into(guard_counters_ptr x) {
  if (x)
    guards_ = std::move(x);
}

caf::invoke_message_result guarded_actor::consume(caf::mailbox_element& x) {
  auto& content = x.content();
  if (content.match_elements<caf::exit_msg>() && !is_local(x.sender, node())) {
    // CAF quits on `kill` before any exit handler runs: refuse it here.
    guards().refused.fetch_add(1, std::memory_order_relaxed);
    log_refused(std::string{"an exit message without a local sender to "}
                + name() + " was refused: "
                + content.stringify().substr(0, 200));
    return caf::invoke_message_result::consumed;
  }
  if (content.match_elements<caf::down_msg>()) {
    // CAF reports a death with the dead actor (or its proxy) as sender and
    // source; our actors hold what they monitor, so the sender is there. A
    // peer's forged one names one of our actors as source: refused.
    auto& msg = content.get_as<caf::down_msg>(0);
    if (x.sender == nullptr || x.sender->address() != msg.source) {
      guards().refused.fetch_add(1, std::memory_order_relaxed);
      log_refused(std::string{"a down message not sent by the actor it "
                              "names to "}
                  + name() + " was refused: "
                  + content.stringify().substr(0, 200));
      return caf::invoke_message_result::consumed;
    }
  }
  return super::consume(x);
}

bool guarded_actor::sender_is_local() {
  auto* x = current_element_;
  if (x == nullptr)
    return false;
  if (x->sender != nullptr)
    return x->sender->node() == node();
  // Anonymous: typed elements hold their values themselves (local sends);
  // the network layer's elements wrap a deserialized caf::message.
  return dynamic_cast<caf::type_erased_tuple*>(x) != nullptr;
}

bool guarded_actor::refuse_remote(const char* what) {
  if (sender_is_local())
    return false;
  guards().refused.fetch_add(1, std::memory_order_relaxed);
  log_refused(std::string{what} + " from another node to " + name()
              + " was refused");
  return true;
}

} // namespace supercache
