// The table behind pseud.health: the peer as a whole, its own names, the
// services the application declares, its bounds, and stopping.

#include <gtest/gtest.h>

#include "peer/health_table.hpp"
#include "pseud/errors.hpp"

namespace pseud::detail {
namespace {

TEST(HealthTable, ThePeerAsAWholeAndItsOwnNamesServeAndUnknownNamesAreNotFound) {
  HealthTable table;
  table.add_own_name("server");
  table.add_own_name("");  // ignored
  EXPECT_EQ(table.serving(""), true);
  EXPECT_EQ(table.serving("server"), true);
  EXPECT_EQ(table.serving("other"), std::nullopt);
}

TEST(HealthTable, DeclaredServicesServeOnlyWhileThePeerDoes) {
  HealthTable table;
  table.add_own_name("server");
  table.set("db", false);
  table.set("cache", true);
  EXPECT_EQ(table.serving("db"), false);
  EXPECT_EQ(table.serving("cache"), true);
  table.set("server", false);  // an own name is the peer as a whole
  EXPECT_EQ(table.serving(""), false);
  EXPECT_EQ(table.serving("cache"), false);
  table.set("", true);
  EXPECT_EQ(table.serving("server"), true);
  EXPECT_EQ(table.serving("cache"), true);
  table.set("db", true);
  EXPECT_EQ(table.serving("db"), true);
}

TEST(HealthTable, NamesAndTheirNumberAreBounded) {
  HealthTable table;
  EXPECT_THROW(table.set(std::string(HealthTable::max_name_size + 1, 'x'), true), UsageError);
  table.set(std::string(HealthTable::max_name_size, 'x'), true);
  for (std::size_t i = 1; i < HealthTable::max_services; ++i) table.set("s" + std::to_string(i), true);
  EXPECT_THROW(table.set("one too many", true), UsageError);
  EXPECT_EQ(table.serving("one too many"), std::nullopt);
  table.set("s1", false);  // a known name may still change
  table.set("", false);    // and so may the peer as a whole
  EXPECT_EQ(table.serving("s1"), false);
}

TEST(HealthTable, OnceStoppingNothingServesForGood) {
  HealthTable table;
  table.set("db", true);
  table.stopping();
  EXPECT_EQ(table.serving(""), false);
  EXPECT_EQ(table.serving("db"), false);
  table.set("", true);
  table.set("db", true);
  EXPECT_EQ(table.serving(""), false);
  EXPECT_EQ(table.serving("db"), false);
  EXPECT_EQ(table.serving("unknown"), std::nullopt);
}

}  // namespace
}  // namespace pseud::detail
