#ifndef CONSUMER_ACTORS_MESSAGES_HPP
#define CONSUMER_ACTORS_MESSAGES_HPP

/// The consumer's own message vocabulary, with its own CAF `inspect` for
/// `nlohmann::json`: JSON values travel as their JSON text. Included together
/// with <supercache/supercache.hpp>, which must therefore not define an
/// `inspect` for `nlohmann::json` (only the opt-in <supercache/messages.hpp>
/// does): both in one translation unit would make every CAF serialization of
/// a JSON value ambiguous.
///
/// The template is declared with a deduced return type, so that it is a
/// different template from supercache's `typename Inspector::result_type
/// inspect(Inspector&, json&)`. Two definitions of the same template with
/// different bodies, one in the library and one here, would break the
/// one-definition rule: the linker would keep one of them for both.

#include <string>
#include <utility>

#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/meta/load_callback.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/sec.hpp>
#include <nlohmann/json.hpp>

namespace consumer {

/// `(record_atom, nlohmann::json)`: asks the writer actor to `lazy_put` the
/// record; the reply is `ok_atom` or an error.
using record_atom = caf::atom_constant<caf::atom("c_record")>;

} // namespace consumer

namespace nlohmann {

/// Serializes a JSON value as its JSON text.
template <class Inspector>
auto inspect(Inspector& f, json& x) {
  std::string text;
  if constexpr (Inspector::reads_state)
    text = x.dump();
  auto load = caf::meta::load_callback([&]() -> caf::error {
    auto y = json::parse(text, nullptr, false);
    if (y.is_discarded())
      return caf::make_error(caf::sec::invalid_argument, "not JSON: " + text);
    x = std::move(y);
    return caf::none;
  });
  return f(caf::meta::type_name("consumer_json"), text, load);
}

} // namespace nlohmann

#endif // CONSUMER_ACTORS_MESSAGES_HPP
