// The options of `supercache-node` only; the library's are in
// `config/options.cpp`. Both tables use `config/option_table.hpp`.

#include "config/node_options.hpp"

#include <string>

#include "config/option_table.hpp"

namespace supercache::node {

namespace {

using detail::option_kind;

// -- the option table ---------------------------------------------------------

bool choose_role(const std::string& name, options& out) {
  if (auto role = node_role_from(name)) {
    out.role = *role;
    return true;
  }
  return false;
}

constexpr detail::option_spec<options> option_specs[] = {
  detail::choice_option("role",
                        "what supercache-node runs: \"standalone\" (default), "
                        "\"cache\" (publish the partitions on host:port) or "
                        "\"producer\" (stream to the cache node at remote)",
                        "\"standalone\", \"cache\" or \"producer\"",
                        &choose_role),
  detail::text_option("host",
                      "interface a cache node listens on (default "
                      "\"127.0.0.1\")",
                      option_kind::text, &options::host),
  detail::size_option("port",
                      "port a cache node listens on, 0..65535; 0 picks a "
                      "free one",
                      option_kind::port, &options::port),
  detail::text_option("input",
                      "NDJSON records (one JSON array per line) for the node "
                      "to ingest: a path, \"-\" for stdin; default: the "
                      "sample in examples/data/",
                      option_kind::text, &options::input),
};

} // namespace

// -- free functions -----------------------------------------------------------

const char* to_string(node_role x) {
  switch (x) {
    case node_role::standalone:
      return "standalone";
    case node_role::cache:
      return "cache";
    case node_role::producer:
      return "producer";
  }
  return "invalid";
}

std::optional<node_role> node_role_from(const std::string& x) {
  for (auto role : {node_role::standalone, node_role::cache,
                    node_role::producer})
    if (x == to_string(role))
      return role;
  return std::nullopt;
}

void declare_options(caf::actor_system_config& cfg) {
  detail::declare_table(option_specs, cfg);
}

bool is_option(caf::string_view name) {
  return detail::find_spec(option_specs, name) != nullptr;
}

// -- options ------------------------------------------------------------------

caf::expected<options> options::from(const caf::actor_system_config& cfg) {
  return detail::read_options(option_specs, cfg);
}

caf::error options::validate() const {
  if (port > 65535)
    return detail::value_error("port", std::to_string(port),
                               "expected a port, 0..65535", nullptr);
  if (role != node_role::standalone && role != node_role::cache
      && role != node_role::producer)
    return detail::value_error("role", std::to_string(static_cast<int>(role)),
                               "expected standalone, cache or producer",
                               nullptr);
  return caf::none;
}

} // namespace supercache::node
