// MalformedLimiter: when a connection passes the malformed limit, and what
// is dropped after it was cut. Times are given, so nothing here waits.

#include <chrono>

#include <gtest/gtest.h>

#include "engine/malformed_limiter.hpp"

namespace pseud::detail {
namespace {

using namespace std::chrono_literals;
using Clock = MalformedLimiter::Clock;

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

TEST(MalformedLimiter, ACutConnectionIsDroppedAndNothingElseOnItsNumberCounts) {
  MalformedLimiter limiter(2);
  const auto t0 = Clock::now();
  ASSERT_EQ(messages_until_cut(limiter, 7, "peer", 1, t0), 3);
  EXPECT_FALSE(limiter.from_cut_connection(7, "peer", t0));  // counted, not cut yet
  limiter.mark_cut(7, *limiter.offender(7), t0, false);
  EXPECT_FALSE(limiter.offender(7)) << "a cut connection is no longer counted";
  EXPECT_TRUE(limiter.from_cut_connection(7, "peer", t0));
  EXPECT_FALSE(limiter.from_cut_connection(7, "someone else", t0));
  EXPECT_FALSE(limiter.from_cut_connection(8, "peer", t0));
  // Whose messages these are is unsure on a cut number: none counts.
  EXPECT_EQ(messages_until_cut(limiter, 7, "peer", 1, t0), -1);
  EXPECT_EQ(messages_until_cut(limiter, 7, "someone else", 2, t0), -1);
  EXPECT_EQ(messages_until_cut(limiter, 8, "peer", 1, t0), 3) << "other numbers count as before";
}

TEST(MalformedLimiter, WhatTheOffenderHadQueuedIsDroppedForAGraceAfterItsClose) {
  MalformedLimiter limiter(2);
  const auto t0 = Clock::now();
  ASSERT_EQ(messages_until_cut(limiter, 7, "peer", 1, t0), 3);
  limiter.mark_cut(7, *limiter.offender(7), t0, false);
  const auto closed_at = t0 + 3s;
  limiter.closed(7, closed_at);  // DISCONNECTED: what was queued may still come, stamped 7
  EXPECT_TRUE(limiter.from_cut_connection(7, "peer", closed_at + MalformedLimiter::cut_grace - 1ms));
  const auto after = closed_at + MalformedLimiter::cut_grace;
  EXPECT_FALSE(limiter.from_cut_connection(7, "peer", after));
  EXPECT_TRUE(limiter.empty());
  EXPECT_EQ(messages_until_cut(limiter, 7, "peer", 2, after), 3) << "a new connection on 7 counts afresh";
}

TEST(MalformedLimiter, ANewConnectionOnTheNumberEndsAClosedCut) {
  MalformedLimiter limiter(2);
  const auto t0 = Clock::now();
  ASSERT_EQ(messages_until_cut(limiter, 7, "peer", 1, t0), 3);
  limiter.mark_cut(7, *limiter.offender(7), t0, false);
  limiter.reopened(7);  // not closed yet: an ACCEPTED for 7 cannot be about it
  EXPECT_TRUE(limiter.from_cut_connection(7, "peer", t0));
  limiter.closed(7, t0);
  EXPECT_TRUE(limiter.from_cut_connection(7, "peer", t0 + 1ms)) << "leftovers before the new connection";
  limiter.reopened(7);  // ACCEPTED: the offender's new connection counts afresh
  EXPECT_FALSE(limiter.from_cut_connection(7, "peer", t0 + 2ms));
  EXPECT_TRUE(limiter.empty());
  EXPECT_EQ(messages_until_cut(limiter, 7, "peer", 2, t0 + 2ms), 3) << "and is cut again past the limit";
}

TEST(MalformedLimiter, ACutWhoseCloseIsNeverReportedIsForgottenInTime) {
  MalformedLimiter limiter(1);
  const auto t0 = Clock::now();
  ASSERT_EQ(messages_until_cut(limiter, 7, "peer", 1, t0), 2);
  limiter.mark_cut(7, *limiter.offender(7), t0, false);
  EXPECT_TRUE(limiter.from_cut_connection(7, "peer", t0 + MalformedLimiter::cut_lifetime - 1ms));
  EXPECT_FALSE(limiter.from_cut_connection(7, "peer", t0 + MalformedLimiter::cut_lifetime));
  EXPECT_TRUE(limiter.empty());
}

TEST(MalformedLimiter, ACutOfAConnectionAlreadyClosedLastsTheGraceOnly) {
  MalformedLimiter limiter(1);
  const auto t0 = Clock::now();
  ASSERT_EQ(messages_until_cut(limiter, 7, "peer", 1, t0), 2);
  limiter.mark_cut(7, *limiter.offender(7), t0, true);
  EXPECT_TRUE(limiter.from_cut_connection(7, "peer", t0 + MalformedLimiter::cut_grace - 1ms));
  EXPECT_FALSE(limiter.from_cut_connection(7, "peer", t0 + MalformedLimiter::cut_grace));
}

TEST(MalformedLimiter, AClosedConnectionThatWasNotCutIsForgottenAtOnce) {
  MalformedLimiter limiter(5);
  const auto t0 = Clock::now();
  EXPECT_FALSE(limiter.count(7, "peer", 1, t0));
  limiter.closed(7, t0);
  EXPECT_TRUE(limiter.empty());
  limiter.closed(9, t0);  // never counted: nothing to do
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
