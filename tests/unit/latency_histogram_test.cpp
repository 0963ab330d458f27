// The latency histogram behind the metrics: bucket bounds, quantiles within
// 12.5 % of the exact ones, and recording from many threads at once.

#include <algorithm>
#include <random>
#include <thread>

#include <gtest/gtest.h>

#include "observe/latency_histogram.hpp"

namespace pseud::detail {
namespace {

using std::chrono::nanoseconds;

TEST(LatencyHistogram, BucketsCoverEveryDurationInOrder) {
  std::uint64_t previous_bound = 0;
  for (std::size_t i = 0; i < LatencyHistogram::bucket_count; ++i) {
    const std::uint64_t bound = LatencyHistogram::upper_bound_of(i);
    if (i > 0) {
      EXPECT_GT(bound, previous_bound) << i;
    }
    // Each bucket holds exactly the durations between the previous bound and its own.
    EXPECT_EQ(LatencyHistogram::bucket_of(bound), i);
    if (i > 0) {
      EXPECT_EQ(LatencyHistogram::bucket_of(previous_bound + 1), i);
    }
    previous_bound = bound;
  }
  EXPECT_EQ(LatencyHistogram::bucket_of(~std::uint64_t{0}), LatencyHistogram::bucket_count - 1);
}

TEST(LatencyHistogram, QuantilesAreWithinAnEighthAboveTheExactOnes) {
  LatencyHistogram histogram;
  std::mt19937_64 random(11);
  std::lognormal_distribution<double> spread(11.0, 1.5);  // around 60 us, with a long tail
  std::vector<std::int64_t> values;
  for (int i = 0; i < 100000; ++i) {
    values.push_back(static_cast<std::int64_t>(spread(random)));
    histogram.record(nanoseconds(values.back()));
  }
  std::sort(values.begin(), values.end());
  for (double q : {0.5, 0.9, 0.99, 0.999}) {
    const auto exact = values[static_cast<std::size_t>(std::ceil(q * values.size())) - 1];
    const auto read = histogram.quantile(q).count();
    EXPECT_GE(read, exact) << q;
    EXPECT_LE(static_cast<double>(read), exact * 1.125 + 1) << q;
  }
  EXPECT_EQ(histogram.max().count(), values.back());
  EXPECT_EQ(histogram.quantile(1.0).count(), values.back());
}

TEST(LatencyHistogram, EmptyReadsZeroAndNegativeDurationsCountAsZero) {
  LatencyHistogram histogram;
  EXPECT_EQ(histogram.quantile(0.5).count(), 0);
  histogram.record(nanoseconds(-5));
  EXPECT_EQ(histogram.quantile(0.5).count(), 0);
  EXPECT_EQ(histogram.max().count(), 0);
}

TEST(LatencyHistogram, ThreadsRecordWithoutLosingCounts) {
  LatencyHistogram histogram;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25000; ++i) histogram.record(nanoseconds(1000 * (t + 1)));
    });
  }
  for (auto& thread : threads) thread.join();
  // 25 % of the values each: the median is the second value's bucket.
  EXPECT_EQ(LatencyHistogram::bucket_of(static_cast<std::uint64_t>(histogram.quantile(0.5).count())),
            LatencyHistogram::bucket_of(2000));
  EXPECT_EQ(histogram.max().count(), 4000);
  EXPECT_EQ(LatencyHistogram::bucket_of(static_cast<std::uint64_t>(histogram.quantile(0.76).count())),
            LatencyHistogram::bucket_of(4000));
}

}  // namespace
}  // namespace pseud::detail
