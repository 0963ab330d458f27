// Event types and subscription patterns: lymph's grammar (dotted words, `*`
// one word, `#` zero or more), checked before use.

#include <chrono>
#include <iostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "events/topic_pattern.hpp"
#include "pseud/errors.hpp"

namespace pseud::detail {
namespace {

struct Case {
  const char* pattern;
  const char* type;
  bool matches;
};

TEST(TopicPattern, MatchesAsLymphDoes) {
  const std::vector<Case> table = {
      {"a.b.c", "a.b.c", true},   {"a.b.c", "a.b", false},    {"a.b", "a.b.c", false},
      {"a.*", "a.b", true},       {"a.*", "a.b.c", false},    {"a.*", "a", false},
      {"*.b", "a.b", true},       {"*", "a", true},           {"*", "a.b", false},
      {"a.*.c", "a.x.c", true},   {"a.*.c", "a.c", false},    {"a.#", "a", true},
      {"a.#", "a.b", true},       {"a.#", "a.b.c.d", true},   {"a.#", "b.a", false},
      {"#", "a", true},           {"#", "a.b.c", true},       {"#.c", "c", true},
      {"#.c", "a.b.c", true},     {"#.c", "a.b.c.d", false},  {"a.#.c", "a.c", true},
      {"a.#.c", "a.x.y.c", true}, {"a.#.c", "a.x.y", false},  {"#.b.#", "b", true},
      {"#.b.#", "a.b.c", true},   {"#.b.#", "a.c", false},    {"*.#", "a", true},
      {"*.#", "a.b.c", true},     {"#.*", "a", true},         {"*.*", "a", false},
      {"order.created", "order.created", true},            {"order.created", "order.createdx", false},
      {"order.*", "order.created", true},                  {"#.#", "a", true},
  };
  for (const Case& c : table) {
    EXPECT_EQ(TopicPattern(c.pattern).matches(c.type), c.matches) << c.pattern << " vs " << c.type;
  }
}

TEST(TopicPattern, RefusesWhatIsNotAPattern) {
  const std::vector<std::string> bad_ones = {"", ".", "a.", ".a", "a..b", "a*", "a.b#", "*a", "a b", "a\x01"};
  for (const std::string& bad : bad_ones) {
    EXPECT_TRUE(TopicPattern::problem(bad)) << "'" << bad << "'";
    EXPECT_THROW(TopicPattern{bad}, UsageError) << "'" << bad << "'";
  }
  EXPECT_TRUE(TopicPattern::problem(std::string(256, 'a')));
  std::string many = "a";
  for (int i = 0; i < 32; ++i) many += ".a";
  EXPECT_TRUE(TopicPattern::problem(many));  // 33 words
  EXPECT_FALSE(TopicPattern::problem("a.*.#"));
}

TEST(TopicPattern, EventTypesHaveNoWildcards) {
  EXPECT_FALSE(event_type_problem("order.created"));
  EXPECT_TRUE(event_type_problem("order.*"));
  EXPECT_TRUE(event_type_problem("#"));
  EXPECT_TRUE(event_type_problem("order..created"));
  EXPECT_TRUE(event_type_problem(""));
}

TEST(TopicPattern, ManyHashesStayCheap) {
  // Without the memo, '#' against '#' backtracks exponentially.
  std::string pattern = "#", type = "a";
  for (int i = 0; i < 15; ++i) pattern += ".#.x";
  for (int i = 0; i < 31; ++i) type += ".a";
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 1000; ++i) EXPECT_FALSE(TopicPattern(pattern).matches(type));
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  std::cout << "[figure] 1000 matches of a 31-word pattern with 16 '#' against 32 words: " << ms << " ms\n";
  EXPECT_LT(ms, 2000.0);
}

}  // namespace
}  // namespace pseud::detail
