#include "actors/front.hpp"

#include "actors/messages.hpp"

namespace supercache {

caf::behavior front_actor(caf::event_based_actor*, front_hooks hooks) {
  return {
    [=](caf::get_atom) {
      return caf::make_message(hooks.partitions(), hooks.settings());
    },
    [=](size_atom) -> caf::expected<uint64_t> {
      auto n = hooks.size();
      if (!n)
        return std::move(n.error());
      return static_cast<uint64_t>(*n);
    },
    // Not caf::result<record>: its brace-initialization would wrap the JSON
    // object into a one-element array.
    [=](stats_atom) -> caf::expected<record> { return hooks.stats(); },
  };
}

} // namespace supercache
