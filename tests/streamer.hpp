#pragma once

// A stream source of our own making, as a peer without supercache's buffers
// would write it: streams entries straight into a cache partition.

#include <memory>
#include <tuple>
#include <vector>

#include <caf/attach_stream_source.hpp>
#include <caf/event_based_actor.hpp>

#include "actors/messages.hpp"

namespace supercache::testing {

/// Streams `xs` to `dst` with `buffer_index` in the handshake, then quits
/// (once every batch was acknowledged, i.e. processed by `dst`).
inline caf::behavior streamer(caf::event_based_actor* self, caf::actor dst,
                              uint32_t buffer_index, std::vector<entry> xs) {
  auto data = std::make_shared<std::vector<entry>>(std::move(xs));
  caf::attach_stream_source(
    self, dst, std::make_tuple(buffer_index), [](size_t& pos) { pos = 0; },
    [data](size_t& pos, caf::downstream<entry>& out, size_t hint) {
      for (; hint > 0 && pos < data->size(); --hint)
        out.push((*data)[pos++]);
    },
    [data](const size_t& pos) { return pos >= data->size(); },
    [self](size_t&, const caf::error&) { self->quit(); });
  // The partition reports the records it refused, `(refused_atom, n)`:
  // taken and not counted here.
  return {[](refused_atom, uint64_t) {}};
}

} // namespace supercache::testing
