// The library's options: the `[supercache]` keys that `supercache::configure`
// declares and `options::from` reads. The options of `supercache-node` only
// live in `config/node_options.cpp`; both tables use `config/option_table.hpp`.

#include <supercache/options.hpp>

#include <string>
#include <utility>

#include <caf/deep_to_string.hpp>

#include <supercache/errc.hpp>

#include "config/option_table.hpp"
#include "config/tls.hpp"
#include "core/names.hpp"

namespace supercache {

namespace {

using detail::option_kind;

// -- the option table ---------------------------------------------------------

bool choose_table_type(const std::string& name, options& out) {
  for (auto type : {table_type::set, table_type::bag})
    if (name == to_string(type)) {
      out.type = type;
      return true;
    }
  return false;
}

bool choose_overflow(const std::string& name, options& out) {
  if (auto policy = overflow_policy_from(name)) {
    out.overflow = *policy;
    return true;
  }
  return false;
}

constexpr detail::option_spec<options> option_specs[] = {
  detail::size_option("buffers",
                      "number of buffer actors buffer_1..buffer_N, 1..999; "
                      "omit for one per scheduler worker",
                      option_kind::count, &options::buffers, "buffer_"),
  detail::size_option("partitions",
                      "number of cache partitions cache_1..cache_P, 1..999; "
                      "omit for one per scheduler worker",
                      option_kind::count, &options::partitions, "cache_"),
  detail::size_option("key-pos",
                      "position of the key element in a record (0-based)",
                      option_kind::position, &options::key_pos),
  detail::size_option("partition-pos",
                      "position of the element that picks the partition of "
                      "a record (0-based)",
                      option_kind::position, &options::partition_pos),
  detail::choice_option("table-type",
                        "\"set\" (last write of a key wins) or \"bag\" "
                        "(distinct records per key)",
                        "\"set\" or \"bag\"", &choose_table_type),
  detail::size_option("max-pending",
                      "records a buffer may hold (accepted, not yet stored "
                      "in the cache) before the overflow policy applies, at "
                      "least 1 (default 100000)",
                      option_kind::limit, &options::max_pending),
  detail::choice_option("overflow",
                        "what lazy_put does at max-pending: \"block\" (wait "
                        "up to block-timeout, then overloaded), \"reject\" "
                        "(overloaded at once) or \"drop-oldest\" (accept; the "
                        "oldest pending record is dropped and counted)",
                        "\"block\", \"reject\" or \"drop-oldest\"",
                        &choose_overflow),
  detail::duration_option("block-timeout",
                          "how long a blocked lazy_put waits for room, e.g. "
                          "500ms (default 1s)",
                          &options::block_timeout),
  detail::text_option("remote",
                      "the cache node that connect streams to, \"HOST:PORT\", "
                      "or the nodes of a cluster, \"HOST:PORT,HOST:PORT,...\"",
                      option_kind::endpoint, &options::remote),
  detail::size_option("replicas",
                      "copies of each partition in a cluster, 1..the nodes "
                      "in remote (default 1)",
                      option_kind::limit, &options::replicas),
  detail::duration_option("connect-timeout",
                          "how long connect waits for the cache node to "
                          "answer (default 5s)",
                          &options::connect_timeout),
  detail::duration_option("call-timeout",
                          "how long a blocking call (start, stop, flush, put, "
                          "stats) waits before it fails with timeout, e.g. "
                          "30s (default 30s)",
                          &options::call_timeout),
  detail::flag_option("allow-insecure",
                      "let publish listen without TLS on a host other than "
                      "loopback (default false: refused unless CAF's "
                      "[openssl] keys certificate, key and cafile/capath are "
                      "set); on the command line a flag: "
                      "--supercache.allow-insecure",
                      &options::allow_insecure),
  detail::duration_option("ttl",
                          "how long a record stays visible after its last "
                          "write, 1ms..596h (default: for ever); expired "
                          "records are removed and counted",
                          &options::ttl, option_kind::lifetime),
  detail::size_option("max-records",
                      "records one cache partition holds at most, at least 1 "
                      "(default: no bound); at the bound the least recently "
                      "written record is evicted and counted",
                      option_kind::limit, &options::max_records),
};

/// Returns `errc::invalid_option` for the field behind the option `name`.
caf::error field_error(const char* name, const std::string& value,
                       const std::string& what) {
  return detail::value_error(name, value, what, nullptr);
}

} // namespace

// -- free functions -----------------------------------------------------------

const char* to_string(table_type x) {
  switch (x) {
    case table_type::set:
      return "set";
    case table_type::bag:
      return "bag";
  }
  return "invalid";
}

const char* to_string(overflow_policy x) {
  switch (x) {
    case overflow_policy::block:
      return "block";
    case overflow_policy::reject:
      return "reject";
    case overflow_policy::drop_oldest:
      return "drop-oldest";
  }
  return "invalid";
}

std::optional<overflow_policy> overflow_policy_from(const std::string& x) {
  for (auto policy : {overflow_policy::block, overflow_policy::reject,
                      overflow_policy::drop_oldest})
    if (x == to_string(policy))
      return policy;
  return std::nullopt;
}

caf::expected<endpoint> parse_endpoint(const std::string& x) {
  auto bad = [&] {
    return make_error(errc::invalid_option,
                      "remote = \"" + x + "\": expected HOST:PORT with a "
                                          "port of 1..65535");
  };
  auto colon = x.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == x.size())
    return bad();
  auto digits = x.substr(colon + 1);
  if (digits.size() > 5
      || digits.find_first_not_of("0123456789") != std::string::npos)
    return bad();
  auto port = std::stoul(digits);
  if (port == 0 || port > 65535)
    return bad();
  auto host = x.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2); // [::1]:4000
  return endpoint{std::move(host), static_cast<uint16_t>(port), x};
}

caf::expected<std::vector<endpoint>> parse_endpoints(const std::string& x) {
  std::vector<endpoint> result;
  std::vector<std::string> seen;
  size_t first = 0;
  for (;;) {
    auto comma = x.find(',', first);
    auto item = x.substr(first, comma == std::string::npos ? std::string::npos
                                                           : comma - first);
    auto ep = parse_endpoint(item);
    if (!ep)
      return make_error(errc::invalid_option,
                        "remote = \"" + x + "\": entry \"" + item
                          + "\" is not HOST:PORT with a port of 1..65535");
    for (auto& y : seen)
      if (y == item)
        return make_error(errc::invalid_option,
                          "remote = \"" + x + "\": \"" + item
                            + "\" is listed twice");
    seen.push_back(item);
    result.push_back(std::move(*ep));
    if (comma == std::string::npos)
      return result;
    first = comma + 1;
  }
}

void declare_options(caf::actor_system_config& cfg) {
  detail::declare_table(option_specs, cfg);
}

// -- options ------------------------------------------------------------------

caf::expected<options> options::from(const caf::actor_system_config& cfg) {
  auto result = detail::read_options(option_specs, cfg);
  if (result)
    if (auto tls = detail::tls_enabled(cfg); !tls)
      return std::move(tls.error());
  return result;
}

caf::error options::validate() const {
  auto check_count = [](const char* name, size_t value) -> caf::error {
    if (value <= max_registered_id)
      return caf::none;
    auto& spec = detail::find_spec(option_specs, name)->info;
    return field_error(name, std::to_string(value),
                       detail::count_range(spec.name_prefix)
                         + ", or 0 for one per scheduler worker");
  };
  if (auto err = check_count("buffers", buffers))
    return err;
  if (auto err = check_count("partitions", partitions))
    return err;
  if (max_pending == 0)
    return field_error("max-pending", "0", "must be at least 1");
  if (block_timeout.count() < 0)
    return field_error("block-timeout", caf::deep_to_string(block_timeout),
                       "must not be negative");
  if (!remote.empty())
    if (auto eps = parse_endpoints(remote); !eps)
      return eps.error();
  if (replicas == 0 || replicas > max_registered_id)
    return field_error("replicas", std::to_string(replicas),
                       "must be 1..the cache nodes in remote");
  if (connect_timeout.count() <= 0)
    return field_error("connect-timeout",
                       caf::deep_to_string(connect_timeout),
                       "must be positive");
  if (call_timeout.count() <= 0)
    return field_error("call-timeout", caf::deep_to_string(call_timeout),
                       "must be positive");
  if (ttl.count() != 0)
    if (auto err = detail::check_lifetime("ttl", ttl, nullptr))
      return err;
  if (type != table_type::set && type != table_type::bag)
    return field_error("table-type", std::to_string(static_cast<int>(type)),
                       "expected set or bag");
  return caf::none;
}

} // namespace supercache
