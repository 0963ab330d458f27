#pragma once
// Layer 6 (events): event types and the patterns subscribers match them with,
// in lymph's grammar: dotted words; in a pattern `*` stands for exactly one
// word and `#` for zero or more. Both are checked before use: they come
// from the network.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pseud::detail {

/// Longest event type or pattern accepted, in bytes, and most words in one.
inline constexpr std::size_t max_topic_bytes = 255;
inline constexpr std::size_t max_topic_words = 32;

/// Why `type` is not a valid event type (dotted non-empty words of printable
/// ASCII without `*` or `#`); nullopt when it is.
std::optional<std::string> event_type_problem(std::string_view type);

class TopicPattern {
 public:
  /// Throws UsageError naming the problem when `pattern` is not one.
  explicit TopicPattern(std::string_view pattern);
  /// The pattern, or why it is not one.
  static std::optional<std::string> problem(std::string_view pattern);

  bool matches(std::string_view type) const;
  const std::string& text() const noexcept { return text_; }

 private:
  std::string text_;
  std::vector<std::string> words_;
};

}  // namespace pseud::detail
