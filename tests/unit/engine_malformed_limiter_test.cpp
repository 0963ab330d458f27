// MalformedLimiter: when a connection passes the malformed limit, and what
// is dropped after it was cut. Times are given, so nothing here waits.

#include <chrono>

#include <gtest/gtest.h>

#include "engine/malformed_limiter.hpp"

namespace pseud::detail {
namespace {

using namespace std::chrono_literals;
using Clock = MalformedLimiter::Clock;
using Verdict = MalformedLimiter::Verdict;

// How many messages `count` accepts before it says "cut".
int messages_until_cut(MalformedLimiter& limiter, int fd, std::string_view sender, std::uint64_t epoch,
                       Clock::time_point at) {
  for (int n = 1; n <= 1000; ++n) {
    if (limiter.count(fd, sender, epoch, at)) return n;
  }
  return -1;
}

TEST(MalformedLimiter, TheMessageAfterTheLimitWithinASecondCuts) {
  MalformedLimiter limiter(3);
  const auto t0 = Clock::now();
  EXPECT_EQ(messages_until_cut(limiter, 7, "peer", 1, t0), 4);
  const auto who = limiter.offender(7);
  ASSERT_TRUE(who);
  EXPECT_EQ(who->routing_id, "peer");
  EXPECT_EQ(who->epoch, 1u);
}

TEST(MalformedLimiter, EachSecondStartsAfresh) {
  MalformedLimiter limiter(3);
  const auto t0 = Clock::now();
  for (int second = 0; second < 5; ++second) {
    for (int n = 0; n < 3; ++n) EXPECT_FALSE(limiter.count(7, "peer", 1, t0 + second * 1s + n * 10ms));
  }
}

TEST(MalformedLimiter, AnotherConnectionOnTheSameNumberCountsAfresh) {
  MalformedLimiter limiter(3);
  const auto t0 = Clock::now();
  for (int n = 0; n < 3; ++n) EXPECT_FALSE(limiter.count(7, "old", 1, t0));
  // The number changed hands (a new epoch), or another routing id speaks on it: not the old one's tally.
  EXPECT_FALSE(limiter.count(7, "old", 2, t0));
  EXPECT_FALSE(limiter.count(7, "new", 2, t0));
  EXPECT_EQ(limiter.offender(7)->routing_id, "new");
  EXPECT_EQ(messages_until_cut(limiter, 7, "new", 2, t0), 3);  // one counted already
}

TEST(MalformedLimiter, ZeroMeansNoLimitAndNegativeDescriptorsAreNotCounted) {
  MalformedLimiter off(0);
  EXPECT_EQ(messages_until_cut(off, 7, "peer", 1, Clock::now()), -1);
  MalformedLimiter limiter(1);
  EXPECT_EQ(messages_until_cut(limiter, -1, "inproc", 0, Clock::now()), -1);
  EXPECT_TRUE(limiter.empty());
}

TEST(MalformedLimiter, ACutConnectionIsDroppedAndOthersAreAskedAbout) {
  MalformedLimiter limiter(2);
  const auto t0 = Clock::now();
  ASSERT_EQ(messages_until_cut(limiter, 7, "peer", 1, t0), 3);
  EXPECT_EQ(limiter.check(7, "peer"), Verdict::pass);  // counted, not cut yet
  limiter.mark_cut(7, *limiter.offender(7));
  EXPECT_EQ(limiter.check(7, "peer"), Verdict::drop);
  EXPECT_EQ(limiter.check(7, "someone else"), Verdict::unsure);
  EXPECT_EQ(limiter.check(8, "peer"), Verdict::pass);
  EXPECT_FALSE(limiter.count(7, "peer", 1, t0)) << "a cut connection is not cut twice";
  limiter.forget(7);  // DISCONNECTED
  EXPECT_EQ(limiter.check(7, "peer"), Verdict::pass);
  EXPECT_TRUE(limiter.empty());
}

TEST(MalformedLimiter, OneEntryPerDescriptorWhateverTheSenders) {
  MalformedLimiter limiter(5);
  const auto t0 = Clock::now();
  for (int n = 0; n < 10000; ++n) limiter.count(n % 16, "peer-" + std::to_string(n), 1, t0);
  for (int fd = 0; fd < 16; ++fd) EXPECT_TRUE(limiter.offender(fd));
  EXPECT_FALSE(limiter.offender(16));
}

}  // namespace
}  // namespace pseud::detail
