// UnauthenticatedTable: which connections spoke before logging in, so that
// the auth backend forgets each when it closes or changes hands.

#include <gtest/gtest.h>

#include "engine/unauthenticated_table.hpp"

namespace pseud::detail {
namespace {

using Seen = UnauthenticatedTable::Seen;

TEST(UnauthenticatedTable, AConnectionIsKnownByDescriptorRoutingIdAndInode) {
  UnauthenticatedTable table;
  EXPECT_EQ(table.seen(7, "a", 100), Seen::untracked);
  table.add(7, "a", 100);
  EXPECT_EQ(table.seen(7, "a", 100), Seen::known);
  EXPECT_EQ(table.seen(7, "b", 100), Seen::reused) << "another routing id on the number";
  EXPECT_EQ(table.seen(7, "a", 101), Seen::reused) << "another socket on the number, same routing id";
}

TEST(UnauthenticatedTable, ClosingGivesTheRoutingIdToForget) {
  UnauthenticatedTable table;
  table.add(7, "a", 100);
  EXPECT_EQ(table.remove(7), "a");
  EXPECT_EQ(table.remove(7), std::nullopt);
  EXPECT_EQ(table.size(), 0u);
  EXPECT_EQ(table.moved("a", 8), std::nullopt) << "forgotten both ways";
}

TEST(UnauthenticatedTable, ARoutingIdHeardThroughAnotherConnectionLeavesTheOldOne) {
  UnauthenticatedTable table;
  table.add(7, "a", 100);
  EXPECT_EQ(table.moved("a", 7), std::nullopt) << "same connection: nothing moved";
  EXPECT_EQ(table.moved("a", 9), "a");
  EXPECT_EQ(table.seen(7, "a", 100), Seen::untracked);
  table.add(9, "a", 200);
  EXPECT_EQ(table.seen(9, "a", 200), Seen::known);
  // The old descriptor closing later must not forget the new connection.
  EXPECT_EQ(table.remove(7), std::nullopt);
  EXPECT_EQ(table.remove(9), "a");
}

TEST(UnauthenticatedTable, StopsTrackingAtCapacity) {
  UnauthenticatedTable table;
  for (int fd = 0; fd < static_cast<int>(UnauthenticatedTable::capacity) + 100; ++fd) {
    table.add(fd, "peer-" + std::to_string(fd), 1);
  }
  EXPECT_EQ(table.size(), UnauthenticatedTable::capacity);
  EXPECT_EQ(table.seen(static_cast<int>(UnauthenticatedTable::capacity) + 1, "x", 1), Seen::untracked);
}

}  // namespace
}  // namespace pseud::detail
