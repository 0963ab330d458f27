// Layer 7 (discovery): JSON parsing with a nesting bound, without exceptions.
#include "discovery/bounded_json.hpp"

#include "discovery/limits.hpp"

namespace pseud::detail::discovery {

namespace {

// Deepest bracket nesting outside strings; stops counting past the limit.
bool nesting_within(std::string_view text, int limit) noexcept {
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (const char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > limit) return false;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return true;
}

}  // namespace

std::optional<nlohmann::json> parse_bounded_json(std::string_view text) noexcept {
  if (!nesting_within(text, max_json_depth)) return std::nullopt;
  try {
    nlohmann::json value = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (value.is_discarded()) return std::nullopt;
    return value;
  } catch (...) {
    return std::nullopt;  // allocation failure
  }
}

}  // namespace pseud::detail::discovery
