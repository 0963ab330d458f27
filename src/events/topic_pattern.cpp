// Layer 6 (events): event types and subscription patterns (topic_pattern.hpp).

#include "events/topic_pattern.hpp"

#include "pseud/errors.hpp"

namespace pseud::detail {

namespace {

std::vector<std::string_view> split_words(std::string_view text) {
  std::vector<std::string_view> words;
  std::size_t start = 0;
  while (true) {
    const auto dot = text.find('.', start);
    words.push_back(text.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
    if (dot == std::string_view::npos) return words;
    start = dot + 1;
  }
}

std::optional<std::string> topic_problem(std::string_view text, bool wildcards) {
  const char* what = wildcards ? "pattern" : "event type";
  if (text.empty()) return std::string("an empty ") + what;
  if (text.size() > max_topic_bytes) {
    return std::string("a ") + what + " of " + std::to_string(text.size()) + " bytes (at most " +
           std::to_string(max_topic_bytes) + ")";
  }
  const auto words = split_words(text);
  if (words.size() > max_topic_words) {
    return std::string("a ") + what + " of " + std::to_string(words.size()) + " words (at most " +
           std::to_string(max_topic_words) + ")";
  }
  for (const std::string_view word : words) {
    if (word.empty()) return std::string("an empty word in the ") + what + " (two dots, or a dot at an end)";
    const bool wildcard = word == "*" || word == "#";
    if (wildcard && wildcards) continue;
    for (const char c : word) {
      if (c == '*' || c == '#') {
        return wildcards ? std::string("'*' and '#' must be whole words of a pattern")
                         : std::string("'*' and '#' belong in patterns, not in event types");
      }
      if (c <= ' ' || c > '~') return std::string("a ") + what + " holds a byte that is not printable ASCII";
    }
  }
  return std::nullopt;
}

// Whether words[w..] of the type match pattern[p..]; `#` tries every split.
// Bounded: at most 32 words each, and the memo keeps it quadratic.
bool match_from(const std::vector<std::string>& pattern, std::size_t p, const std::vector<std::string_view>& words,
                std::size_t w, std::vector<signed char>& memo) {
  signed char& known = memo[p * (words.size() + 1) + w];
  if (known >= 0) return known == 1;
  bool result;
  if (p == pattern.size()) {
    result = w == words.size();
  } else if (pattern[p] == "#") {
    result = match_from(pattern, p + 1, words, w, memo) ||
             (w < words.size() && match_from(pattern, p, words, w + 1, memo));
  } else {
    result = w < words.size() && (pattern[p] == "*" || pattern[p] == words[w]) &&
             match_from(pattern, p + 1, words, w + 1, memo);
  }
  known = result ? 1 : 0;
  return result;
}

}  // namespace

std::optional<std::string> event_type_problem(std::string_view type) { return topic_problem(type, false); }

std::optional<std::string> TopicPattern::problem(std::string_view pattern) { return topic_problem(pattern, true); }

TopicPattern::TopicPattern(std::string_view pattern) : text_(pattern) {
  if (auto why = problem(pattern)) throw UsageError("subscription pattern '" + text_ + "': " + *why);
  for (const std::string_view word : split_words(pattern)) words_.emplace_back(word);
}

bool TopicPattern::matches(std::string_view type) const {
  const auto words = split_words(type);
  std::vector<signed char> memo((words_.size() + 1) * (words.size() + 1), -1);
  return match_from(words_, 0, words, 0, memo);
}

}  // namespace pseud::detail
