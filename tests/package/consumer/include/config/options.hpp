#ifndef CONSUMER_CONFIG_OPTIONS_HPP
#define CONSUMER_CONFIG_OPTIONS_HPP

/// The consumer's own options, at a path supercache once used for its
/// options header (see actors/record.hpp).

#include <string>

namespace consumer {

struct options {
  /// Records to write; exactly this many must be stored.
  int records = 1000;

  /// The second element of every record.
  std::string origin = "consumer";
};

} // namespace consumer

#endif // CONSUMER_CONFIG_OPTIONS_HPP
