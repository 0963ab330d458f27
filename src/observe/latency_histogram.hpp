#pragma once
// Layer 4 (observe): a latency histogram any thread records into without a
// lock. Buckets are log-linear: exact below 8 ns, then 8 per power of two,
// so a percentile read back is the upper bound of its bucket, at most 12.5 %
// above the true value, in 2.4 KiB whatever the range (up to about 18 min;
// longer durations count in the last bucket). The maximum is kept exactly.

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace pseud::detail {

class LatencyHistogram {
 public:
  static constexpr std::size_t bucket_count = 8 + 37 * 8;

  void record(std::chrono::nanoseconds duration) noexcept;
  /// The duration at quantile `q` (0 < q <= 1) of what was recorded; zero when nothing was.
  std::chrono::nanoseconds quantile(double q) const noexcept;
  std::chrono::nanoseconds max() const noexcept {
    return std::chrono::nanoseconds(max_.load(std::memory_order_relaxed));
  }

  static std::size_t bucket_of(std::uint64_t nanoseconds) noexcept;
  /// The largest duration bucket `index` holds.
  static std::uint64_t upper_bound_of(std::size_t index) noexcept;

 private:
  std::array<std::atomic<std::uint64_t>, bucket_count> buckets_{};
  std::atomic<std::uint64_t> max_{0};
};

}  // namespace pseud::detail
