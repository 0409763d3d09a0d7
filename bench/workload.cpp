// The helpers every part of the benchmark shares, and starting a cache.

#include "bench/workload.hpp"

#include <cmath>

namespace supercache::bench {

// -- helpers ------------------------------------------------------------------

record make_record(size_t i) {
  return record::array({i, "value-" + std::to_string(i)});
}

size_t share_of(size_t p, size_t producers, size_t records) {
  return p < records ? (records - p + producers - 1) / producers : 0;
}

int64_t to_ns(time_point x) {
  using std::chrono::duration_cast;
  using std::chrono::nanoseconds;
  return duration_cast<nanoseconds>(x.time_since_epoch()).count();
}

double seconds(time_point from, time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

double rounded(double x, int digits) {
  auto scale = std::pow(10.0, digits);
  return std::round(x * scale) / scale;
}

double rate_of(size_t n, double secs) {
  return secs > 0 ? static_cast<double>(n) / secs : 0.0;
}

double ratio(double x, double y) {
  return y > 0 ? rounded(x / y, 3) : 0.0;
}

std::string show_rate(double x) {
  char buf[32];
  if (x >= 1e6)
    std::snprintf(buf, sizeof(buf), "%.2fM/s", x / 1e6);
  else
    std::snprintf(buf, sizeof(buf), "%.1fk/s", x / 1e3);
  return buf;
}

std::string show(const char* format, double x) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), format, x);
  return buf;
}

double micros(caf::timespan x) {
  return std::chrono::duration<double, std::micro>(x).count();
}

// -- the cache ----------------------------------------------------------------

bool start_cache(caf::actor_system& sys, const workload& w, size_t buffers,
                 size_t partitions, report& r) {
  auto opts = w.opts;
  opts.buffers = buffers;
  opts.partitions = partitions;
  if (auto err = supercache::start(sys, opts)) {
    r.check(false, "supercache::start: " + supercache::render(err));
    return false;
  }
  return true;
}

} // namespace supercache::bench
