#ifndef CONSUMER_ACTORS_RECORD_HPP
#define CONSUMER_ACTORS_RECORD_HPP

/// The consumer's own record type. The path is one supercache used for an
/// internal header (and core/names.hpp, instance/state.hpp and
/// actors/messages.hpp are ones it still uses): if supercache put its
/// source tree on a consumer's include path, `#include <actors/record.hpp>`
/// would find the wrong file and main.cpp would not compile.

#include <string>

#include <nlohmann/json.hpp>

namespace consumer {

/// A record of the consumer, stored in supercache as `[id, origin]`.
struct record {
  int id = 0;
  std::string origin;

  /// Returns the record as a supercache record (a JSON array).
  nlohmann::json to_json() const {
    return nlohmann::json::array({id, origin});
  }
};

} // namespace consumer

#endif // CONSUMER_ACTORS_RECORD_HPP
