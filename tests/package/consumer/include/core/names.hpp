#ifndef CONSUMER_CORE_NAMES_HPP
#define CONSUMER_CORE_NAMES_HPP

/// The consumer's own names, at the path of an internal supercache header
/// (see actors/record.hpp).

namespace consumer {

/// Prefix of every line the consumer prints.
constexpr const char* program_name = "consumer";

} // namespace consumer

#endif // CONSUMER_CORE_NAMES_HPP
