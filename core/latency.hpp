#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>

namespace supercache {

/// Returns the time on the steady clock in nanoseconds, the unit of
/// `entry::enqueued_ns`.
inline int64_t steady_ns() noexcept {
  using namespace std::chrono;
  return duration_cast<nanoseconds>(steady_clock::now().time_since_epoch())
    .count();
}

/// A lock-free histogram of durations in nanoseconds with log-linear buckets
/// (8 per power of two, so percentiles are exact within 12.5%).
///
/// One writer or many may `record`; any thread may read. Readers see each
/// bucket's count atomically, not a snapshot of all buckets at one instant.
class latency_histogram {
public:
  /// Number of sub-buckets per power of two.
  static constexpr int sub_buckets = 8;

  /// Number of buckets.
  static constexpr int size = 64 * sub_buckets;

  /// Counts one duration; negative durations count as 0.
  void record(int64_t ns) noexcept {
    auto v = static_cast<uint64_t>(ns < 0 ? 0 : ns);
    buckets_[index(v)].fetch_add(1, std::memory_order_relaxed);
    auto prev = max_.load(std::memory_order_relaxed);
    while (v > prev
           && !max_.compare_exchange_weak(prev, v, std::memory_order_relaxed))
      ; // retry
  }

  /// Adds the counts of `other` to `this`.
  void merge(const latency_histogram& other) noexcept {
    for (int i = 0; i < size; ++i)
      buckets_[i].fetch_add(other.buckets_[i].load(std::memory_order_relaxed),
                            std::memory_order_relaxed);
    auto m = other.max_.load(std::memory_order_relaxed);
    if (m > max_.load(std::memory_order_relaxed))
      max_.store(m, std::memory_order_relaxed);
  }

  /// Returns the number of recorded durations.
  uint64_t count() const noexcept {
    uint64_t result = 0;
    for (auto& b : buckets_)
      result += b.load(std::memory_order_relaxed);
    return result;
  }

  /// Returns the largest recorded duration.
  uint64_t max() const noexcept {
    return max_.load(std::memory_order_relaxed);
  }

  /// Returns an upper bound (within 12.5%) of the `q` quantile (0 < q <= 1),
  /// capped at `max()`; 0 if nothing was recorded.
  uint64_t percentile(double q) const noexcept {
    auto total = count();
    if (total == 0)
      return 0;
    // Nearest rank: the smallest value with at least q * total at or below.
    auto rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(total)));
    rank = std::max<uint64_t>(1, std::min(rank, total));
    uint64_t seen = 0;
    for (int i = 0; i < size; ++i) {
      seen += buckets_[i].load(std::memory_order_relaxed);
      if (seen >= rank)
        return std::min(upper_bound(i), max());
    }
    return max();
  }

private:
  /// Maps a value to its bucket: values below 8 get their own bucket; above,
  /// the exponent picks a group of 8 and the next 3 bits the bucket in it.
  static int index(uint64_t v) noexcept {
    if (v < sub_buckets)
      return static_cast<int>(v);
    auto exp = 63 - __builtin_clzll(v); // >= 3
    auto sub = static_cast<int>((v >> (exp - 3)) & (sub_buckets - 1));
    return (exp - 2) * sub_buckets + sub;
  }

  /// Returns the largest value of bucket `i`.
  static uint64_t upper_bound(int i) noexcept {
    if (i < sub_buckets)
      return static_cast<uint64_t>(i);
    auto exp = i / sub_buckets + 2;
    auto sub = static_cast<uint64_t>(i % sub_buckets);
    auto base = (uint64_t{sub_buckets} + sub) << (exp - 3);
    return base + (uint64_t{1} << (exp - 3)) - 1;
  }

  std::array<std::atomic<uint64_t>, size> buckets_{};
  std::atomic<uint64_t> max_{0};
};

} // namespace supercache
