#ifndef CONSUMER_INSTANCE_STATE_HPP
#define CONSUMER_INSTANCE_STATE_HPP

/// The consumer's own bookkeeping, at the path of an internal supercache
/// header (see actors/record.hpp).

namespace consumer {

/// Records the consumer handed to supercache.
struct state {
  /// Written by `main` with `instance::lazy_put`.
  int direct = 0;

  /// Written by the consumer's writer actor, sent to it in messages.
  int via_actor = 0;

  int total() const noexcept {
    return direct + via_actor;
  }
};

} // namespace consumer

#endif // CONSUMER_INSTANCE_STATE_HPP
