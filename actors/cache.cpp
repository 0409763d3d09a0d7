#include "actors/cache.hpp"

#include <caf/attach_stream_sink.hpp>
#include <caf/stream.hpp>
#include <caf/unit.hpp>

#include "actors/errc.hpp"
#include "actors/names.hpp"

namespace supercache {

caf::behavior cache_actor(caf::stateful_actor<cache_state>* self,
                          std::shared_ptr<table> data) {
  self->state.data = std::move(data);
  return {
    [=](caf::stream<entry> in, uint32_t buffer_index) {
      // One sink per buffer; barriers are acknowledged to that buffer.
      auto upstream = caf::actor_cast<caf::actor>(self->current_sender());
      return caf::attach_stream_sink(
        self, in, [](caf::unit_t&) {},
        [=](caf::unit_t&, std::vector<entry>& batch) {
          self->state.data->insert(batch, buffer_index);
          for (auto& x : batch)
            if (x.barrier != 0)
              self->send(upstream, flushed_atom::value, x.barrier);
        },
        [=](caf::unit_t&, const caf::error& err) {
          if (err)
            CAF_LOG_WARNING("stream from a buffer closed: " << err);
        });
    },
    [=](caf::put_atom, const record& x) -> caf::result<caf::ok_atom> {
      auto& tbl = *self->state.data;
      if (auto err = validate(x, tbl.layout()))
        return err;
      tbl.insert(packed::pack(x, tbl.layout()).first);
      return caf::ok_atom::value;
    },
    [=](caf::get_atom,
        const record& pattern) -> caf::expected<std::vector<record>> {
      // Not caf::result: its brace-initialization would wrap the vector into
      // one JSON value (std::vector<json>'s initializer_list constructor).
      auto& tbl = *self->state.data;
      if (auto err = validate(pattern, tbl.layout()))
        return err;
      return tbl.get(key_of(pattern, tbl.layout()));
    },
    [=](size_atom) { return static_cast<uint64_t>(self->state.data->size()); },
    [=](stats_atom) -> record { return to_json(*self->state.data); },
  };
}

caf::atom_value cache_name(size_t id) {
  return numbered_name("cache_", id);
}

} // namespace supercache
