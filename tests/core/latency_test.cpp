// Unit tests of the enqueue-to-visible latency histogram.

#include <doctest/doctest.h>

#include "core/latency.hpp"

using supercache::latency_histogram;

TEST_CASE("a latency histogram reports percentiles within 12.5 percent") {
  latency_histogram h;
  for (int64_t v = 1; v <= 100'000; ++v)
    h.record(v);
  CHECK_EQ(h.count(), 100'000u);
  CHECK_EQ(h.max(), 100'000u);
  for (double q : {0.5, 0.9, 0.99, 0.999}) {
    auto exact = static_cast<double>(q * 100'000);
    auto got = static_cast<double>(h.percentile(q));
    CAPTURE(q);
    CHECK_GE(got, exact);
    CHECK_LE(got, exact * 1.125);
  }
  CHECK_EQ(h.percentile(1.0), 100'000u);
}

TEST_CASE("an empty latency histogram reports zero") {
  latency_histogram h;
  CHECK_EQ(h.count(), 0u);
  CHECK_EQ(h.percentile(0.5), 0u);
  CHECK_EQ(h.max(), 0u);
}

TEST_CASE("small and huge latencies land in their own buckets") {
  latency_histogram h;
  h.record(-5); // a clock step backwards counts as 0
  h.record(3);
  h.record(int64_t{1} << 62);
  CHECK_EQ(h.count(), 3u);
  CHECK_EQ(h.percentile(0.3), 0u);
  CHECK_EQ(h.percentile(0.6), 3u);
  CHECK_EQ(h.percentile(1.0), uint64_t{1} << 62);
}

TEST_CASE("merging latency histograms adds their counts") {
  latency_histogram a;
  latency_histogram b;
  for (int i = 0; i < 10; ++i)
    a.record(1000);
  for (int i = 0; i < 30; ++i)
    b.record(2000);
  a.merge(b);
  CHECK_EQ(a.count(), 40u);
  CHECK_EQ(a.max(), 2000u);
  CHECK_LE(a.percentile(0.2), 1125u);
  CHECK_GE(a.percentile(0.5), 2000u);
}
