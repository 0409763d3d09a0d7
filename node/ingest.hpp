#pragma once

/// Reads NDJSON records (one JSON array per line) and hands each to a write
/// function, as `supercache-node` does with `lazy_put`.
///
/// A line that is not valid JSON, or that the write function refuses as a
/// record (`invalid_record`, `overloaded`), is rejected with its line number
/// and does not stop the run; blank lines are skipped. Any other error of the
/// write function (`not_started`, `unreachable`) ends the ingest and is
/// returned. A line nested deeper than `max_record_depth` is parsed without
/// recursion and refused by `validate` (`invalid_record`) like any bad
/// record.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <istream>
#include <ostream>
#include <string>

#include <caf/error.hpp>

#include <supercache/record.hpp>

namespace supercache::node {

/// Counts of one ingest.
struct ingest_result {
  /// Records the write function accepted.
  uint64_t accepted = 0;

  /// Lines rejected (bad JSON, bad record, overloaded).
  uint64_t rejected = 0;

  /// Lines read, including blank and rejected ones.
  uint64_t lines = 0;

  /// The error that ended the ingest early, or none.
  caf::error fatal;
};

/// Where an ingest reports rejected lines and progress.
struct ingest_report {
  /// Receives `line N: reason` for the first `max_rejections_shown`
  /// rejections, then one summary line at the end.
  std::ostream* errors = nullptr;

  /// Rejections shown one by one.
  uint64_t max_rejections_shown = 10;

  /// Receives a progress line (`\r`-updated) at most every
  /// `progress_interval`, once the ingest has run that long; null for none
  /// (e.g. when stderr is not a terminal).
  std::ostream* progress = nullptr;

  /// How often the progress line is redrawn.
  std::chrono::milliseconds progress_interval{200};
};

/// Writes one record; returns none once it is accepted.
using write_fn = std::function<caf::error(record)>;

/// Reads `in` line by line and writes each record with `write`, until the
/// end of `in` or, checked before each line, until `*stop` is set.
ingest_result ingest(std::istream& in, const write_fn& write,
                     const ingest_report& report,
                     const std::atomic<bool>* stop = nullptr);

/// Renders the progress line: records/s, accepted, rejected.
std::string progress_line(const ingest_result& x, double seconds);

} // namespace supercache::node
