// The parts of a ServiceClient that need no sockets: what happens after a
// failed attempt, which versions a range accepts, how each policy picks an
// instance, and the bounded room where calls wait for a live instance.

#include <chrono>
#include <map>
#include <memory>
#include <stop_token>

#include <gtest/gtest.h>

#include "pseud/errors.hpp"
#include "service/failover.hpp"
#include "service/instance_set.hpp"
#include "service/version_range.hpp"
#include "service/waiting_room.hpp"

namespace pseud::detail {
namespace {

using namespace std::chrono_literals;

template <class E>
std::exception_ptr error(E e) {
  return std::make_exception_ptr(std::move(e));
}

TEST(AfterAttempt, OnlyUnrunCallsMoveUnlessIdempotent) {
  EXPECT_EQ(after_attempt(nullptr, false), AfterAttempt::finish);
  // Never delivered, or refused unrun: another instance may take it.
  EXPECT_EQ(after_attempt(error(PeerUnreachableError("no route")), false), AfterAttempt::try_another);
  EXPECT_EQ(after_attempt(error(HandshakeError("bad key")), false), AfterAttempt::try_another);
  EXPECT_EQ(after_attempt(error(UnavailableError("stopping")), false), AfterAttempt::try_another);
  EXPECT_EQ(after_attempt(error(OverloadedError("busy")), false), AfterAttempt::try_another);
  // Delivered, then the instance was lost: it may have run.
  EXPECT_EQ(after_attempt(error(PeerGoneError("gone")), false), AfterAttempt::outcome_unknown);
  EXPECT_EQ(after_attempt(error(PeerGoneError("gone")), true), AfterAttempt::try_another);
  EXPECT_EQ(after_attempt(error(PeerStoppedError("closed")), false), AfterAttempt::outcome_unknown);
  // The handler's own outcome, or the caller's deadline: never moved.
  EXPECT_EQ(after_attempt(error(RemoteError("ValueError", "bad")), true), AfterAttempt::finish);
  EXPECT_EQ(after_attempt(error(ServiceNotFoundError("nope")), true), AfterAttempt::finish);
  EXPECT_EQ(after_attempt(error(TimeoutError("late")), true), AfterAttempt::finish);
  EXPECT_EQ(after_attempt(error(CancelledError("stop")), true), AfterAttempt::finish);
}

TEST(AfterAttempt, OnlyConnectionFailuresTakeAnInstanceOutOfThePicks) {
  EXPECT_TRUE(instance_lost(error(PeerGoneError("gone"))));
  EXPECT_TRUE(instance_lost(error(PeerUnreachableError("no route"))));
  EXPECT_TRUE(instance_lost(error(PeerStoppedError("closed"))));
  EXPECT_FALSE(instance_lost(error(OverloadedError("busy"))));  // it lives: only this call moves
  EXPECT_TRUE(instance_lost(error(UnavailableError("stopping"))));
  EXPECT_FALSE(instance_lost(error(TimeoutError("late"))));
  EXPECT_FALSE(instance_lost(nullptr));
}

TEST(VersionRange, PlainVersionMeansSameMajorAtLeastThat) {
  const VersionRange range("1.2");
  EXPECT_TRUE(range.contains("1.2"));
  EXPECT_TRUE(range.contains("1.2.0"));
  EXPECT_TRUE(range.contains("1.9.3"));
  EXPECT_TRUE(range.contains("v1.4.0-rc1"));
  EXPECT_FALSE(range.contains("1.1.9"));
  EXPECT_FALSE(range.contains("2.0.0"));
  EXPECT_FALSE(range.contains(""));
  EXPECT_FALSE(range.contains("one.two"));
}

TEST(VersionRange, ComparisonsJoinedByCommas) {
  const VersionRange range(">=1.2.0, <1.5");
  EXPECT_TRUE(range.contains("1.2.0"));
  EXPECT_TRUE(range.contains("1.4.99"));
  EXPECT_FALSE(range.contains("1.5.0"));
  EXPECT_TRUE(VersionRange("=2.0.1").contains("2.0.1"));
  EXPECT_FALSE(VersionRange("==2.0.1").contains("2.0.2"));
  EXPECT_TRUE(VersionRange(">1").contains("1.0.1"));
  EXPECT_TRUE(VersionRange("<=1.0").contains("1.0.0"));
  EXPECT_TRUE(VersionRange("").contains(""));
  EXPECT_TRUE(VersionRange("").contains("anything"));
}

TEST(VersionRange, UnreadableRangesAreRefusedWithTheReason) {
  for (const char* bad : {"1.x", ">=", "1.2.3.4", ">=1,<two", "1..2"}) {
    try {
      VersionRange range(bad);
      ADD_FAILURE() << "accepted " << bad;
    } catch (const UsageError& e) {
      EXPECT_NE(std::string(e.what()).find("version range"), std::string::npos) << e.what();
    }
  }
  EXPECT_FALSE(parse_version("99999999999999999999999").has_value());
}

std::shared_ptr<Instance> make(const std::string& key, bool alive, std::size_t outstanding = 0) {
  auto instance = std::make_shared<Instance>();
  instance->key = key;
  instance->alive = alive;
  instance->outstanding = outstanding;
  return instance;
}

TEST(InstanceSet, RoundRobinTakesEachLiveInstanceInTurnAndSkipsTheDead) {
  InstanceSet set;
  set.add(make("a", true));
  set.add(make("b", false));
  set.add(make("c", true));
  std::map<std::string, int> picks;
  for (int i = 0; i < 10; ++i) ++picks[set.pick(Policy::round_robin, {})->key];
  EXPECT_EQ(picks["a"], 5);
  EXPECT_EQ(picks["b"], 0);
  EXPECT_EQ(picks["c"], 5);
  EXPECT_EQ(set.pick(Policy::round_robin, {"a", "c"}), nullptr);
  EXPECT_TRUE(set.any_untried({"a", "c"}));   // b may come up
  EXPECT_FALSE(set.any_untried({"a", "b", "c"}));
}

TEST(InstanceSet, FirstAliveKeepsToTheFirstLiveOneInConnectionOrder) {
  InstanceSet set;
  set.add(make("a", false));
  set.add(make("b", true));
  set.add(make("c", true));
  for (int i = 0; i < 5; ++i) EXPECT_EQ(set.pick(Policy::first_alive, {})->key, "b");
  EXPECT_EQ(set.pick(Policy::first_alive, {"b"})->key, "c");
  set.all()[0]->alive = true;
  EXPECT_EQ(set.pick(Policy::first_alive, {})->key, "a");
}

TEST(InstanceSet, LeastOutstandingPicksTheLeastLoadedAndSpreadsTies) {
  InstanceSet set;
  set.add(make("a", true, 5));
  set.add(make("b", true, 1));
  set.add(make("c", true, 3));
  EXPECT_EQ(set.pick(Policy::least_outstanding, {})->key, "b");
  EXPECT_EQ(set.pick(Policy::least_outstanding, {"b"})->key, "c");
  for (const auto& instance : set.all()) instance->outstanding = 0;
  std::map<std::string, int> picks;
  for (int i = 0; i < 9; ++i) ++picks[set.pick(Policy::least_outstanding, {})->key];
  EXPECT_EQ(picks["a"], 3);
  EXPECT_EQ(picks["b"], 3);
  EXPECT_EQ(picks["c"], 3);
}

TEST(InstanceSet, RemovedInstancesAreNoLongerPicked) {
  InstanceSet set;
  set.add(make("a", true));
  set.add(make("b", true));
  ASSERT_NE(set.remove("a"), nullptr);
  EXPECT_EQ(set.remove("a"), nullptr);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(set.pick(Policy::round_robin, {})->key, "b");
}

std::shared_ptr<CallAttempt> attempt_until(std::chrono::steady_clock::time_point deadline, std::size_t bytes,
                                           std::stop_token stop = {}) {
  auto attempt = std::make_shared<CallAttempt>();
  attempt->call.body.write(std::string(bytes, 'x').data(), bytes);
  attempt->call.options.deadline = deadline;
  attempt->call.options.stop = std::move(stop);
  return attempt;
}

TEST(WaitingRoom, BoundedInCountAndBytes) {
  const auto later = std::chrono::steady_clock::now() + 10s;
  WaitingRoom by_count(2, 1 << 20);
  EXPECT_TRUE(by_count.add(attempt_until(later, 10)));
  EXPECT_TRUE(by_count.add(attempt_until(later, 10)));
  EXPECT_FALSE(by_count.add(attempt_until(later, 10)));
  WaitingRoom by_bytes(100, 1000);
  EXPECT_TRUE(by_bytes.add(attempt_until(later, 600)));
  EXPECT_FALSE(by_bytes.add(attempt_until(later, 600)));
  EXPECT_EQ(by_bytes.bytes(), 600u);
  EXPECT_EQ(by_bytes.take_all().size(), 1u);
  EXPECT_EQ(by_bytes.bytes(), 0u);
  EXPECT_TRUE(by_bytes.add(attempt_until(later, 600)));
}

TEST(WaitingRoom, GivesBackCallsPastTheirDeadlineOrCancelled) {
  const auto now = std::chrono::steady_clock::now();
  WaitingRoom room(10, 1 << 20);
  std::stop_source cancel;
  room.add(attempt_until(now + 1s, 1));
  room.add(attempt_until(now + 3s, 1, cancel.get_token()));
  room.add(attempt_until(now + 2s, 1));
  EXPECT_EQ(room.next_deadline(), now + 1s);
  EXPECT_TRUE(room.take_due(now).empty());
  EXPECT_EQ(room.take_due(now + 1s).size(), 1u);
  EXPECT_EQ(room.next_deadline(), now + 2s);
  cancel.request_stop();
  EXPECT_EQ(room.take_due(now + 1s).size(), 1u);  // the cancelled one, before its deadline
  EXPECT_EQ(room.size(), 1u);
  EXPECT_EQ(room.bytes(), 1u);
}

}  // namespace
}  // namespace pseud::detail
