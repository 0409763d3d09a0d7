#include "node/ingest.hpp"

#include <cstdio>

#include <supercache/errc.hpp>

namespace supercache::node {

namespace {

bool is_blank(const std::string& line) {
  return line.find_first_not_of(" \t\r") == std::string::npos;
}

/// Returns whether `err` rejects one record rather than ending the run.
bool rejects_record(const caf::error& err) {
  return err.category() == error_category
         && (err.code() == static_cast<uint8_t>(errc::invalid_record)
             || err.code() == static_cast<uint8_t>(errc::overloaded));
}

} // namespace

std::string progress_line(const ingest_result& x, double seconds) {
  char buf[160];
  auto rate = seconds > 0 ? (x.accepted + x.rejected) / seconds : 0.0;
  std::snprintf(buf, sizeof(buf),
                "ingest: %.2fM records/s, accepted %llu, rejected %llu",
                rate / 1e6, static_cast<unsigned long long>(x.accepted),
                static_cast<unsigned long long>(x.rejected));
  return buf;
}

ingest_result ingest(std::istream& in, const write_fn& write,
                     const ingest_report& report,
                     const std::atomic<bool>* stop) {
  using clock = std::chrono::steady_clock;
  ingest_result result;
  auto start = clock::now();
  auto next_progress = start + report.progress_interval;
  bool progress_shown = false;
  auto reject = [&](const std::string& why) {
    if (report.errors != nullptr
        && result.rejected < report.max_rejections_shown)
      // One write: a library line from another thread cannot split it.
      *report.errors << ("line " + std::to_string(result.lines) + ": " + why
                         + '\n')
                     << std::flush;
    ++result.rejected;
  };
  std::string line;
  while ((stop == nullptr || !stop->load()) && std::getline(in, line)) {
    ++result.lines;
    if (is_blank(line))
      continue;
    auto x = record::parse(line, nullptr, false);
    if (x.is_discarded()) {
      reject("not valid JSON");
    } else if (auto err = write(std::move(x))) {
      if (!rejects_record(err)) {
        result.fatal = std::move(err);
        break;
      }
      reject(render(err));
    } else {
      ++result.accepted;
    }
    if (report.progress != nullptr && (result.lines & 0xfff) == 0) {
      auto now = clock::now();
      if (now >= next_progress) {
        std::chrono::duration<double> t = now - start;
        *report.progress << '\r' << progress_line(result, t.count())
                         << std::flush;
        progress_shown = true;
        next_progress = now + report.progress_interval;
      }
    }
  }
  if (progress_shown) {
    std::chrono::duration<double> t = clock::now() - start;
    *report.progress << '\r' << progress_line(result, t.count()) << '\n';
  }
  if (report.errors != nullptr
      && result.rejected > report.max_rejections_shown)
    *report.errors << "... and "
                   << result.rejected - report.max_rejections_shown
                   << " more rejected lines\n";
  return result;
}

} // namespace supercache::node
