#include "observe/latency_histogram.hpp"

#include <bit>
#include <cmath>

namespace pseud::detail {

std::size_t LatencyHistogram::bucket_of(std::uint64_t ns) noexcept {
  if (ns < 8) return static_cast<std::size_t>(ns);
  const unsigned exponent = 63u - static_cast<unsigned>(std::countl_zero(ns));  // 3 or more
  const std::size_t sub = static_cast<std::size_t>((ns >> (exponent - 3)) & 7u);
  const std::size_t index = 8 + (exponent - 3) * 8 + sub;
  return index < bucket_count ? index : bucket_count - 1;
}

std::uint64_t LatencyHistogram::upper_bound_of(std::size_t index) noexcept {
  if (index < 8) return index;
  const unsigned shift = static_cast<unsigned>((index - 8) / 8);
  const std::uint64_t sub = (index - 8) % 8;
  return ((8 + sub + 1) << shift) - 1;
}

void LatencyHistogram::record(std::chrono::nanoseconds duration) noexcept {
  const std::uint64_t ns = duration.count() > 0 ? static_cast<std::uint64_t>(duration.count()) : 0;
  buckets_[bucket_of(ns)].fetch_add(1, std::memory_order_relaxed);
  std::uint64_t seen = max_.load(std::memory_order_relaxed);
  while (ns > seen && !max_.compare_exchange_weak(seen, ns, std::memory_order_relaxed)) {
  }
}

std::chrono::nanoseconds LatencyHistogram::quantile(double q) const noexcept {
  std::array<std::uint64_t, bucket_count> counts;
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < bucket_count; ++i) {
    counts[i] = buckets_[i].load(std::memory_order_relaxed);
    total += counts[i];
  }
  if (total == 0) return {};
  const auto rank = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(total)));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < bucket_count; ++i) {
    seen += counts[i];
    if (seen >= rank && counts[i] > 0) {
      // The last bucket's bound is no bound: the exact maximum is.
      const std::uint64_t bound = i + 1 == bucket_count ? max_.load(std::memory_order_relaxed) : upper_bound_of(i);
      return std::chrono::nanoseconds(std::min(bound, max_.load(std::memory_order_relaxed)));
    }
  }
  return max();
}

}  // namespace pseud::detail
