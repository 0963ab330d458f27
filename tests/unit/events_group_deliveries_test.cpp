// GroupDeliveries: group-mode events at the hub: one member at a time, ACKed
// or retried elsewhere with backoff, dead after `retries`, bounded backlog.

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "events/group_deliveries.hpp"

namespace pseud::detail {
namespace {

using namespace std::chrono_literals;
using Clock = GroupDeliveries::Clock;

GroupEvent event(const std::string& id, const std::string& group = "g") {
  GroupEvent e{id, "t", group, zmq::message_t(id.data(), id.size()), 0, {}, 100};
  return e;
}

GroupLimits limits() {
  GroupLimits l;
  l.max_backlog = 10;
  l.max_backlog_bytes = 100000;
  l.ack_timeout = 100ms;
  l.retries = 2;
  l.retry_backoff = 10ms;
  return l;
}

// Hands everything to `member`; records what went where.
std::vector<std::pair<std::string, std::string>> send_all(GroupDeliveries& groups, Clock::time_point now,
                                                          const std::string& member) {
  std::vector<std::pair<std::string, std::string>> sent;
  groups.dispatch(
      now, [&](const GroupEvent& e) { return e.last_member == member ? std::string("other") : member; },
      [&](const std::string& to, const GroupEvent& e) {
        sent.emplace_back(to, e.id);
        return true;
      });
  return sent;
}

TEST(GroupDeliveries, AnAckSettlesOnlyFromTheMemberThatHasIt) {
  GroupDeliveries groups(limits());
  const auto now = Clock::now();
  ASSERT_TRUE(groups.enqueue(event("e1")));
  EXPECT_EQ(send_all(groups, now, "m1").size(), 1u);
  EXPECT_EQ(groups.in_flight(), 1u);
  EXPECT_FALSE(groups.acknowledge("e1", "g", "m2"));
  EXPECT_FALSE(groups.acknowledge("e1", "other-group", "m1"));
  EXPECT_TRUE(groups.acknowledge("e1", "g", "m1"));
  EXPECT_FALSE(groups.acknowledge("e1", "g", "m1"));  // once
  EXPECT_EQ(groups.in_flight(), 0u);
}

TEST(GroupDeliveries, ARefusalIsRetriedAfterItsBackoffElsewhereThenDead) {
  GroupDeliveries groups(limits());
  auto now = Clock::now();
  groups.enqueue(event("e1"));
  send_all(groups, now, "m1");
  auto failed = groups.refuse("e1", "g", "m1", now);
  ASSERT_TRUE(failed);
  EXPECT_FALSE(failed->dead);
  groups.release_retries(now + 9ms);
  EXPECT_TRUE(send_all(groups, now, "m1").empty());  // still backing off
  groups.release_retries(now + 10ms);
  const auto second = send_all(groups, now + 10ms, "m1");
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].first, "other");  // not the member that refused it
  failed = groups.refuse("e1", "g", "other", now + 10ms);
  ASSERT_TRUE(failed && !failed->dead);
  groups.release_retries(now + 40ms);  // backoff doubled: 20 ms
  ASSERT_EQ(send_all(groups, now + 40ms, "m1").size(), 1u);
  failed = groups.refuse("e1", "g", "m1", now + 40ms);
  ASSERT_TRUE(failed);
  EXPECT_TRUE(failed->dead);  // 3 deliveries: the first and 2 retries
  EXPECT_EQ(failed->event.id, "e1");
  EXPECT_EQ(std::string(failed->event.packed.data<char>(), failed->event.packed.size()), "e1");  // whole, for the hook
}

TEST(GroupDeliveries, SilenceCountsAsARefusal) {
  GroupDeliveries groups(limits());
  const auto now = Clock::now();
  groups.enqueue(event("e1"));
  send_all(groups, now, "m1");
  EXPECT_TRUE(groups.expire(now + 99ms).empty());
  const auto failed = groups.expire(now + 100ms);
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_FALSE(failed[0].dead);
  EXPECT_EQ(failed[0].event.last_member, "m1");
}

TEST(GroupDeliveries, AMemberLeavingFailsOnlyWhatItHeld) {
  GroupDeliveries groups(limits());
  const auto now = Clock::now();
  groups.enqueue(event("e1"));
  send_all(groups, now, "m1");
  groups.enqueue(event("e2"));
  send_all(groups, now, "m2");
  const auto failed = groups.member_gone("m1", now);
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].event.id, "e1");
  EXPECT_EQ(groups.in_flight(), 1u);
}

TEST(GroupDeliveries, TheBacklogIsBoundedAndRetriesGoFirst) {
  GroupDeliveries groups(limits());
  const auto now = Clock::now();
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(groups.enqueue(event("e" + std::to_string(i))));
  EXPECT_FALSE(groups.enqueue(event("e10")));
  EXPECT_EQ(groups.backlog(), 10u);
  // Nobody free: all wait, oldest first.
  groups.dispatch(now, [](const GroupEvent&) { return std::string(); },
                  [](const std::string&, const GroupEvent&) { return true; });
  EXPECT_EQ(groups.backlog(), 10u);
  // One goes out and fails; after its backoff it is ahead of the others.
  int budget = 1;
  groups.dispatch(now, [&](const GroupEvent&) { return budget-- > 0 ? std::string("m1") : std::string(); },
                  [](const std::string&, const GroupEvent&) { return true; });
  groups.refuse("e0", "g", "m1", now);
  groups.release_retries(now + 10ms);
  const auto order = send_all(groups, now + 10ms, "m2");
  ASSERT_EQ(order.size(), 10u);
  EXPECT_EQ(order[0].second, "e0");
  EXPECT_EQ(order[1].second, "e1");
}

TEST(GroupDeliveries, AFullConnectionKeepsTheEventWaiting) {
  GroupDeliveries groups(limits());
  const auto now = Clock::now();
  groups.enqueue(event("e1"));
  groups.dispatch(now, [](const GroupEvent&) { return std::string("m1"); },
                  [](const std::string&, const GroupEvent&) { return false; });
  EXPECT_EQ(groups.backlog(), 1u);
  EXPECT_EQ(groups.in_flight(), 0u);
}

}  // namespace
}  // namespace pseud::detail
