#pragma once

#include <cstdint>
#include <string>

#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/make_message.hpp>

namespace supercache {

/// Error codes of supercache; `caf::error`s of the category `supercache`.
enum class errc : uint8_t {
  /// The buffers (or the cache) are not running: before `start`, after `stop`.
  not_started = 1,
  /// `start` was called on a running instance.
  already_started,
  /// A record is not a JSON array or too short for `key-pos`/`partition-pos`.
  invalid_record,
  /// An option, a configuration key or a call argument is out of range.
  invalid_option,
  /// The buffer holds `max-pending` records and the overflow policy refused
  /// the record (`reject`, or `block` after `block-timeout`).
  overloaded,
  /// The remote cache cannot be reached, refused the connection or went away
  /// (`connect`, and every call of a node connected to it afterwards).
  unreachable,
  /// A blocking call was made on a scheduler worker of the instance's own
  /// actor system (inside an actor's handler), where waiting could deadlock;
  /// the context names the call. Actors send messages instead.
  would_deadlock,
  /// A blocking call did not complete within `call-timeout`; the context
  /// names what did not answer.
  timeout,
  /// A reply would exceed a fixed size limit (a remote `match`/`for_each`
  /// partition of more than `max_reply_bytes`); the context names it.
  too_large,
};

/// The category atom of all supercache errors.
constexpr caf::atom_value error_category = caf::atom("supercache");

/// Returns the name of `x`, e.g. `"not_started"`.
const char* to_string(errc x);

/// Returns an error of the `supercache` category without context.
caf::error make_error(errc x);

/// Returns an error of the `supercache` category with a human-readable context,
/// e.g. the key and value of a rejected option.
caf::error make_error(errc x, std::string context);

/// Renders any error as one line: `supercache::invalid_option: <context>` for
/// ours, CAF's own rendering for all others.
std::string render(const caf::error& x);

} // namespace supercache
