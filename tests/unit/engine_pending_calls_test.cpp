// PendingCalls: the calls a peer waits on, their deadlines and the parked
// ones. Times are given, so nothing here waits.

#include <chrono>
#include <stop_token>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "engine/pending_calls.hpp"

namespace pseud::detail {
namespace {

using namespace std::chrono_literals;
using Clock = PendingCalls::Clock;

MessageId id_of(unsigned n) {
  MessageId id;
  for (std::size_t i = 0; i < id.bytes.size(); ++i) id.bytes[i] = static_cast<char>((n >> (8 * (i % 4))) & 0xff);
  id.bytes[15] = static_cast<char>(0x5a);
  return id;
}

PendingCall call_to(std::string destination, Clock::time_point deadline) {
  PendingCall call;
  call.routing_id = destination;
  call.destination = std::move(destination);
  call.function = "f";
  call.deadline = deadline;
  return call;
}

std::vector<MessageId> all_expired(PendingCalls& calls, Clock::time_point now) {
  std::vector<MessageId> due;
  while (const auto id = calls.next_expired(now)) due.push_back(*id);
  return due;
}

TEST(PendingCalls, DeadlinesComeDueInTimeOrderAndNotBefore) {
  PendingCalls calls;
  const auto t0 = Clock::now();
  calls.add(id_of(1), call_to("a", t0 + 30ms));
  calls.add(id_of(2), call_to("a", t0 + 10ms));
  calls.add(id_of(3), call_to("b", t0 + 20ms));
  EXPECT_EQ(calls.size(), 3u);
  EXPECT_EQ(calls.next_deadline(), t0 + 10ms);
  EXPECT_TRUE(all_expired(calls, t0 + 9ms).empty());
  EXPECT_EQ(all_expired(calls, t0 + 20ms), (std::vector{id_of(2), id_of(3)}));
  // Due calls stay pending until taken, and come due once.
  EXPECT_EQ(calls.size(), 3u);
  EXPECT_TRUE(all_expired(calls, t0 + 25ms).empty());
  EXPECT_EQ(all_expired(calls, t0 + 1s), std::vector{id_of(1)});
}

TEST(PendingCalls, ATakenCallNeverComesDue) {
  PendingCalls calls;
  const auto t0 = Clock::now();
  calls.add(id_of(1), call_to("a", t0 + 10ms));
  calls.add(id_of(2), call_to("a", t0 + 20ms));
  const auto taken = calls.take(id_of(1));
  ASSERT_TRUE(taken);
  EXPECT_EQ(taken->destination, "a");
  EXPECT_FALSE(calls.take(id_of(1)));  // a late or duplicate reply finds nothing
  EXPECT_EQ(calls.find(id_of(1)), nullptr);
  EXPECT_EQ(all_expired(calls, t0 + 1s), std::vector{id_of(2)});
}

TEST(PendingCalls, StaleDeadlinesStayBoundedAtAHighCallRate) {
  PendingCalls calls;
  const auto t0 = Clock::now();
  constexpr unsigned total = 100000;
  std::size_t most = 0;
  // Replies arrive long before a 1-hour timeout: every deadline left behind is stale.
  for (unsigned n = 0; n < total; ++n) {
    calls.add(id_of(n), call_to("a", t0 + 1h));
    if (n >= 10) {
      ASSERT_TRUE(calls.take(id_of(n - 10)));
    }
    most = std::max(most, calls.scheduled());
  }
  EXPECT_EQ(calls.size(), 10u);
  EXPECT_LE(most, 2 * 10 + 1024 + 1) << "stale deadlines grew with the number of calls";
  EXPECT_EQ(all_expired(calls, t0 + 2h).size(), 10u);
}

TEST(PendingCalls, TakingACallDropsItsStopCallback) {
  PendingCalls calls;
  std::stop_source source;
  PendingCall call = call_to("a", Clock::now() + 1s);
  call.cancel = std::make_unique<std::stop_callback<CancelRequest>>(source.get_token(), CancelRequest{nullptr, id_of(1)});
  calls.add(id_of(1), std::move(call));
  const auto taken = calls.take(id_of(1));
  ASSERT_TRUE(taken);
  EXPECT_EQ(taken->cancel, nullptr);
  // With the callback gone, a later stop reaches no engine (it would dereference a null one).
  source.request_stop();
}

TEST(PendingCalls, ParkedCallsKeepTheOrderTheyWereMadeIn) {
  PendingCalls calls;
  const auto t0 = Clock::now();
  EXPECT_FALSE(calls.next_retry());
  for (unsigned n = 1; n <= 3; ++n) {
    calls.add(id_of(n), call_to("a", t0 + 1s));
    calls.park(id_of(n), t0);
  }
  EXPECT_TRUE(calls.has_parked());
  EXPECT_EQ(calls.next_retry(), t0 + PendingCalls::retry_interval);
  const auto parked = calls.take_parked();
  EXPECT_EQ(parked, (std::vector{id_of(1), id_of(2), id_of(3)}));
  EXPECT_FALSE(calls.has_parked());
  // During the retry a completion parks a new call; 1 was sent, 2 and 3 still wait.
  calls.add(id_of(4), call_to("a", t0 + 1s));
  calls.park(id_of(4), t0 + 1ms);
  calls.unpark_failed({id_of(2), id_of(3)}, t0 + 2ms);
  EXPECT_EQ(calls.next_retry(), t0 + 2ms + PendingCalls::retry_interval);
  EXPECT_EQ(calls.take_parked(), (std::vector{id_of(2), id_of(3), id_of(4)}));
  calls.unpark_failed({}, t0 + 3ms);
  EXPECT_FALSE(calls.next_retry());
}

TEST(PendingCalls, SelectAndAnyReachEveryCall) {
  PendingCalls calls;
  const auto t0 = Clock::now();
  for (unsigned n = 0; n < 50; ++n) calls.add(id_of(n), call_to(n % 2 ? "odd" : "even", t0 + 1s));
  EXPECT_EQ(calls.select([](const PendingCall& c) { return c.routing_id == "odd"; }).size(), 25u);
  std::size_t drained = 0;
  while (const auto id = calls.any()) {
    ASSERT_TRUE(calls.take(*id));
    ++drained;
  }
  EXPECT_EQ(drained, 50u);
  EXPECT_TRUE(calls.empty());
  EXPECT_EQ(calls.size(), 0u);
}

}  // namespace
}  // namespace pseud::detail
