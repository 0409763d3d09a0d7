// Tests for node/ingest: NDJSON lines in, records out, rejections reported
// with line numbers.

#include "node/ingest.hpp"

#include <sstream>
#include <vector>

#include <doctest/doctest.h>

#include <supercache/errc.hpp>

using supercache::errc;
using supercache::make_error;
using supercache::record;
using supercache::node::ingest;
using supercache::node::ingest_report;

namespace {

/// A write function that keeps what it accepts and validates like lazy_put.
struct collector {
  std::vector<record> accepted;
  caf::error fail_with; // returned for every record once set

  supercache::node::write_fn fn() {
    return [this](record x) -> caf::error {
      if (fail_with)
        return fail_with;
      if (!x.is_array() || x.empty())
        return make_error(errc::invalid_record, "a record must be an array");
      accepted.push_back(std::move(x));
      return caf::none;
    };
  }
};

} // namespace

TEST_CASE("ingest writes one record per line in order and skips blank "
          "lines") {
  std::istringstream in{"[1,\"a\"]\n\n  \n[2,\"b\"]\r\n[1,\"c\"]\n"};
  collector out;
  auto res = ingest(in, out.fn(), ingest_report{});
  CHECK_EQ(res.accepted, 3u);
  CHECK_EQ(res.rejected, 0u);
  CHECK_EQ(res.lines, 5u);
  CHECK_FALSE(res.fatal);
  REQUIRE_EQ(out.accepted.size(), 3u);
  CHECK_EQ(out.accepted[0], record::parse("[1,\"a\"]"));
  CHECK_EQ(out.accepted[1], record::parse("[2,\"b\"]"));
  CHECK_EQ(out.accepted[2], record::parse("[1,\"c\"]"));
}

TEST_CASE("a line that is not JSON or not a record is rejected with its "
          "line number and the run goes on") {
  std::istringstream in{"[1]\n{oops\n{\"a\":1}\n[2]\n"};
  collector out;
  std::ostringstream errors;
  ingest_report report;
  report.errors = &errors;
  auto res = ingest(in, out.fn(), report);
  CHECK_EQ(res.accepted, 2u);
  CHECK_EQ(res.rejected, 2u);
  CHECK_EQ(errors.str(), "line 2: not valid JSON\n"
                         "line 3: supercache::invalid_record: a record must "
                         "be an array\n");
}

TEST_CASE("only the first rejections are shown, then one line counts the "
          "rest") {
  std::string text;
  for (int i = 0; i < 25; ++i)
    text += "nope\n";
  std::istringstream in{text};
  collector out;
  std::ostringstream errors;
  ingest_report report;
  report.errors = &errors;
  report.max_rejections_shown = 3;
  auto res = ingest(in, out.fn(), report);
  CHECK_EQ(res.rejected, 25u);
  CHECK_EQ(errors.str(), "line 1: not valid JSON\nline 2: not valid JSON\n"
                         "line 3: not valid JSON\n"
                         "... and 22 more rejected lines\n");
}

TEST_CASE("an unreachable cache ends the ingest at its line with the error") {
  std::istringstream in{"[1]\n[2]\n[3]\n"};
  collector out;
  auto write = [&](record x) -> caf::error {
    if (x[0] == 2)
      return make_error(errc::unreachable, "gone");
    return out.fn()(std::move(x));
  };
  auto res = ingest(in, write, ingest_report{});
  CHECK_EQ(res.accepted, 1u);
  CHECK_EQ(res.lines, 2u);
  CHECK_EQ(res.fatal, errc::unreachable);
}

TEST_CASE("overloaded records are rejected, not fatal") {
  std::istringstream in{"[1]\n[2]\n"};
  collector out;
  out.fail_with = make_error(errc::overloaded, "full");
  auto res = ingest(in, out.fn(), ingest_report{});
  CHECK_EQ(res.rejected, 2u);
  CHECK_FALSE(res.fatal);
}

TEST_CASE("the progress line is drawn only when a progress stream is given") {
  std::string text;
  for (int i = 0; i < 3 * 4096; ++i)
    text += "[1]\n";
  collector out;
  std::ostringstream progress;
  ingest_report report;
  report.progress = &progress;
  report.progress_interval = std::chrono::milliseconds(0);
  std::istringstream in{text};
  ingest(in, out.fn(), report);
  auto drawn = progress.str();
  CHECK_EQ(drawn.front(), '\r');
  CHECK_NE(drawn.find("accepted 12288, rejected 0"), std::string::npos);
  CHECK_EQ(drawn.back(), '\n');
  std::istringstream again{text};
  std::ostringstream errors;
  report.progress = nullptr;
  report.errors = &errors;
  ingest(again, out.fn(), report);
  CHECK(errors.str().empty());
}
