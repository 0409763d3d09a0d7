#include <supercache/errc.hpp>

#include <caf/message.hpp>
#include <caf/sec.hpp>

namespace supercache {

const char* to_string(errc x) {
  switch (x) {
    case errc::not_started:
      return "not_started";
    case errc::already_started:
      return "already_started";
    case errc::invalid_record:
      return "invalid_record";
    case errc::invalid_option:
      return "invalid_option";
    case errc::overloaded:
      return "overloaded";
    case errc::unreachable:
      return "unreachable";
    case errc::would_deadlock:
      return "would_deadlock";
    case errc::timeout:
      return "timeout";
    case errc::too_large:
      return "too_large";
  }
  return "unknown";
}

caf::error make_error(errc x) {
  return {static_cast<uint8_t>(x), error_category};
}

caf::error make_error(errc x, std::string context) {
  return {static_cast<uint8_t>(x), error_category,
          caf::make_message(std::move(context))};
}

std::string render(const caf::error& x) {
  if (!x)
    return "none";
  if (x.category() != error_category)
    return caf::to_string(x);
  std::string result = "supercache::";
  result += to_string(static_cast<errc>(x.code()));
  if (!x.context().empty() && x.context().match_elements<std::string>()) {
    result += ": ";
    result += x.context().get_as<std::string>(0);
  }
  return result;
}

} // namespace supercache
