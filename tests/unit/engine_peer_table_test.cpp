// PeerTable: peers, the descriptors they speak through, user routes, the
// routing ids just gone and the snapshot other threads read.

#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "engine/peer_table.hpp"

namespace pseud::detail {
namespace {

using namespace std::chrono_literals;
using Clock = PeerTable::Clock;

TEST(PeerTable, APeerJoinsWithItsStateAndShowsInTheSnapshot) {
  PeerTable table;
  const auto t0 = Clock::now();
  PeerTable::Peer& peer = table.join("client-1", "alice", true, t0);
  EXPECT_EQ(peer.state.routing_id, "client-1");
  EXPECT_EQ(peer.state.user_id, "alice");
  EXPECT_EQ(peer.state.joined, t0);
  EXPECT_TRUE(peer.state.may_ping);
  EXPECT_EQ(table.find("client-1"), &peer);
  EXPECT_EQ(table.find("client-2"), nullptr);
  const auto seen = table.snapshot();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].routing_id, "client-1");
  EXPECT_EQ(seen[0].user_id, "alice");
}

TEST(PeerTable, ADescriptorBelongsToTheLastPeerThatSpokeThroughIt) {
  PeerTable table;
  const auto t0 = Clock::now();
  PeerTable::Peer& a = table.join("a", "", true, t0);
  table.speaks_through(a, 7);
  ASSERT_NE(table.owner_of(7), nullptr);
  EXPECT_EQ(*table.owner_of(7), "a");
  // a reconnects on another descriptor, and b gets number 7.
  table.speaks_through(a, 9);
  EXPECT_EQ(table.owner_of(7), nullptr);
  PeerTable::Peer& b = table.join("b", "", true, t0);
  table.speaks_through(b, 7);
  EXPECT_EQ(*table.owner_of(7), "b");
  // a leaving must not disown b's descriptor.
  table.remove("a", t0);
  EXPECT_EQ(table.owner_of(9), nullptr);
  EXPECT_EQ(*table.owner_of(7), "b");
}

TEST(PeerTable, UserRoutesFollowTheUsersConnectionAndLeaveWithIt) {
  PeerTable table;
  const auto t0 = Clock::now();
  table.join("conn-1", "alice", true, t0);
  table.route_user("alice", "conn-1");
  ASSERT_NE(table.route_of("alice"), nullptr);
  EXPECT_EQ(*table.route_of("alice"), "conn-1");
  table.join("conn-2", "alice", true, t0);
  table.route_user("alice", "conn-2");  // alice logged in again elsewhere
  EXPECT_EQ(*table.route_of("alice"), "conn-2");
  table.remove("conn-1", t0);
  EXPECT_EQ(*table.route_of("alice"), "conn-2") << "the old connection leaving keeps the new route";
  table.remove("conn-2", t0);
  EXPECT_EQ(table.route_of("alice"), nullptr);
  table.route_user("", "conn-3");
  table.route_user("bob", "");
  EXPECT_EQ(table.route_of(""), nullptr);
  EXPECT_EQ(table.route_of("bob"), nullptr);
}

TEST(PeerTable, AGonePeerIsRememberedForAMomentThenForgotten) {
  PeerTable table;
  const auto t0 = Clock::now();
  table.join("a", "", true, t0);
  const auto state = table.remove("a", t0);
  ASSERT_TRUE(state);
  EXPECT_EQ(state->routing_id, "a");
  EXPECT_FALSE(table.remove("a", t0)) << "removed once";
  EXPECT_TRUE(table.snapshot().empty());
  EXPECT_TRUE(table.recently_gone("a", t0 + PeerTable::gone_memory - 1ms));
  EXPECT_FALSE(table.recently_gone("a", t0 + PeerTable::gone_memory));
  // Back again: no longer gone.
  table.join("a", "", true, t0 + 1ms);
  EXPECT_FALSE(table.recently_gone("a", t0 + 2ms));
}

TEST(PeerTable, TheGoneListStaysBoundedUnderChurn) {
  PeerTable table;
  const auto t0 = Clock::now();
  // 100 000 peers come and go, one a millisecond: at most ~1 s of them are remembered.
  for (int n = 0; n < 100000; ++n) {
    const std::string id = "peer-" + std::to_string(n);
    table.join(id, "", true, t0 + n * 1ms);
    table.remove(id, t0 + n * 1ms);
  }
  int remembered = 0;
  for (int n = 0; n < 100000; ++n) {
    remembered += table.recently_gone("peer-" + std::to_string(n), t0 + 99999ms) ? 1 : 0;
  }
  EXPECT_LE(remembered, 1001);
  EXPECT_EQ(table.size(), 0u);
}

TEST(PeerTable, TheSnapshotIsSafeToReadWhileTheEngineChangesTheTable) {
  PeerTable table;
  std::atomic<bool> done{false};
  std::thread reader([&] {
    while (!done.load()) {
      for (const PeerInfo& info : table.snapshot()) ASSERT_FALSE(info.routing_id.empty());
    }
  });
  const auto t0 = Clock::now();
  for (int n = 0; n < 20000; ++n) {
    const std::string id = "p" + std::to_string(n % 64);
    if (table.find(id)) {
      table.remove(id, t0);
    } else {
      table.join(id, "u", true, t0);
    }
  }
  done = true;
  reader.join();
}

}  // namespace
}  // namespace pseud::detail
