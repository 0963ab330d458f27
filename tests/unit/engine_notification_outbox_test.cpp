// NotificationOutbox: one FIFO per destination, bounded per destination and
// in all, in count and bytes, with the three overflow policies and a time to live.

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "engine/notification_outbox.hpp"

namespace pseud::detail {
namespace {

using namespace std::chrono_literals;
using Clock = NotificationOutbox::Clock;
using Put = NotificationOutbox::Put;
using Sent = NotificationOutbox::Sent;

Notification note(const std::string& text) { return Notification{"f", zmq::message_t(text.data(), text.size())}; }

std::string text_of(const Notification& n) { return std::string(static_cast<const char*>(n.body.data()), n.body.size()); }

// Everything the outbox hands over, per destination, in order; takes all.
std::vector<std::pair<std::string, std::string>> drain(NotificationOutbox& outbox) {
  std::vector<std::pair<std::string, std::string>> out;
  outbox.send_in_order(
      [&](const std::string& destination, Notification& n) {
        out.emplace_back(destination, text_of(n));
        return Sent::yes;
      },
      1000000);
  return out;
}

OutboxOptions limits(std::size_t per_destination, OutboxOverflow overflow) {
  OutboxOptions options;
  options.max_messages_per_destination = per_destination;
  options.overflow = overflow;
  return options;
}

TEST(NotificationOutbox, KeepsEachDestinationInOrder) {
  NotificationOutbox outbox(OutboxOptions{});
  const auto now = Clock::now();
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(outbox.put("a", note("a" + std::to_string(i)), now).outcome, Put::queued);
    EXPECT_EQ(outbox.put("b", note("b" + std::to_string(i)), now).outcome, Put::queued);
  }
  EXPECT_EQ(outbox.size(), 10u);
  EXPECT_EQ(outbox.size_for("a"), 5u);
  std::vector<std::string> a, b;
  for (const auto& [destination, text] : drain(outbox)) (destination == "a" ? a : b).push_back(text);
  EXPECT_EQ(a, (std::vector<std::string>{"a0", "a1", "a2", "a3", "a4"}));
  EXPECT_EQ(b, (std::vector<std::string>{"b0", "b1", "b2", "b3", "b4"}));
  EXPECT_EQ(outbox.size(), 0u);
  EXPECT_EQ(outbox.bytes(), 0u);
}

TEST(NotificationOutbox, ADestinationThatCannotTakeMoreKeepsTheRestInOrder) {
  NotificationOutbox outbox(OutboxOptions{});
  const auto now = Clock::now();
  for (int i = 0; i < 4; ++i) outbox.put("a", note(std::to_string(i)), now);
  int taken = 0;
  const auto two_then_full = [&](const std::string&, Notification&) { return taken++ < 2 ? Sent::yes : Sent::not_now; };
  EXPECT_EQ(outbox.send_in_order(two_then_full, 100), 2u);
  const auto rest = drain(outbox);
  ASSERT_EQ(rest.size(), 2u);
  EXPECT_EQ(rest[0].second, "2");
  EXPECT_EQ(rest[1].second, "3");
}

TEST(NotificationOutbox, StopsAtItsBudget) {
  NotificationOutbox outbox(OutboxOptions{});
  for (int i = 0; i < 10; ++i) outbox.put("a", note(std::to_string(i)), Clock::now());
  EXPECT_EQ(outbox.send_in_order([](const std::string&, Notification&) { return Sent::yes; }, 3), 3u);
  EXPECT_EQ(outbox.size(), 7u);
  EXPECT_EQ(drain(outbox).front().second, "3");
}

TEST(NotificationOutbox, DropNewKeepsTheOldest) {
  NotificationOutbox outbox(limits(3, OutboxOverflow::drop_new));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(outbox.put("a", note(std::to_string(i)), Clock::now()).outcome, Put::queued);
  const auto result = outbox.put("a", note("3"), Clock::now());
  EXPECT_EQ(result.outcome, Put::dropped);
  EXPECT_EQ(result.dropped, 1u);
  const auto kept = drain(outbox);
  ASSERT_EQ(kept.size(), 3u);
  EXPECT_EQ(kept.back().second, "2");
}

TEST(NotificationOutbox, DropOldestKeepsTheNewest) {
  NotificationOutbox outbox(limits(100, OutboxOverflow::drop_oldest));
  std::size_t dropped = 0;
  for (int i = 0; i < 1000; ++i) dropped += outbox.put("a", note(std::to_string(i)), Clock::now()).dropped;
  EXPECT_EQ(dropped, 900u);
  const auto kept = drain(outbox);
  ASSERT_EQ(kept.size(), 100u);
  EXPECT_EQ(kept.front().second, "900");
  EXPECT_EQ(kept.back().second, "999");
}

TEST(NotificationOutbox, FailRefusesAndKeepsWhatWaits) {
  NotificationOutbox outbox(limits(2, OutboxOverflow::fail));
  outbox.put("a", note("0"), Clock::now());
  outbox.put("a", note("1"), Clock::now());
  EXPECT_EQ(outbox.put("a", note("2"), Clock::now()).outcome, Put::refused);
  EXPECT_EQ(outbox.put("b", note("x"), Clock::now()).outcome, Put::queued);  // another destination has room
  EXPECT_EQ(outbox.size(), 3u);
}

TEST(NotificationOutbox, DropOldestNeverTakesRoomFromAnotherDestination) {
  OutboxOptions options;
  options.max_messages = 10;
  options.overflow = OutboxOverflow::drop_oldest;
  NotificationOutbox outbox(options);
  for (int i = 0; i < 10; ++i) outbox.put("flooder", note(std::to_string(i)), Clock::now());
  // The total is full of another destination's: the new one goes, not theirs.
  const auto result = outbox.put("victim", note("v"), Clock::now());
  EXPECT_EQ(result.outcome, Put::dropped);
  EXPECT_EQ(outbox.size_for("flooder"), 10u);
  // The flooder's own overflow takes its own oldest.
  EXPECT_EQ(outbox.put("flooder", note("10"), Clock::now()).outcome, Put::queued_dropping_oldest);
  EXPECT_EQ(drain(outbox).front().second, "1");
}

TEST(NotificationOutbox, BoundsBytesPerDestinationAndInAll) {
  OutboxOptions options;
  options.max_bytes_per_destination = 64 * 1024;
  options.max_bytes = 100 * 1024;
  options.overflow = OutboxOverflow::drop_new;
  NotificationOutbox outbox(options);
  const std::string kib(1024, 'x');
  std::size_t queued_a = 0, queued_b = 0;
  for (int i = 0; i < 200; ++i) {
    queued_a += outbox.put("a", note(kib), Clock::now()).outcome == Put::queued;
    queued_b += outbox.put("b", note(kib), Clock::now()).outcome == Put::queued;
  }
  EXPECT_LE(outbox.bytes(), options.max_bytes);
  EXPECT_LT(queued_a, 64u);  // each entry costs its body and its bookkeeping
  EXPECT_GT(queued_a, 30u);
  EXPECT_GT(queued_b, 30u);
  // A notification larger than a destination may ever hold is dropped, not kept waiting forever.
  EXPECT_EQ(outbox.put("c", note(std::string(65 * 1024, 'y')), Clock::now()).outcome, Put::dropped);
}

TEST(NotificationOutbox, ExpiresWhatWaitedPastItsTimeToLive) {
  OutboxOptions options;
  options.ttl = 1000ms;
  NotificationOutbox outbox(options);
  const auto start = Clock::now();
  outbox.put("a", note("old"), start);
  outbox.put("b", note("old"), start);
  outbox.put("a", note("new"), start + 600ms);
  EXPECT_EQ(outbox.next_expiry(), start + 1000ms);
  EXPECT_EQ(outbox.expire(start + 999ms), 0u);
  EXPECT_EQ(outbox.expire(start + 1000ms), 2u);
  EXPECT_EQ(outbox.next_expiry(), start + 1600ms);
  const auto kept = drain(outbox);
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(kept[0].second, "new");
  EXPECT_FALSE(outbox.next_expiry());
}

TEST(NotificationOutbox, ClearCountsWhatWasLeft) {
  NotificationOutbox outbox(OutboxOptions{});
  for (int i = 0; i < 7; ++i) outbox.put(std::to_string(i % 3), note("x"), Clock::now());
  EXPECT_EQ(outbox.clear(), 7u);
  EXPECT_EQ(outbox.size(), 0u);
  EXPECT_EQ(outbox.bytes(), 0u);
}

}  // namespace
}  // namespace pseud::detail
