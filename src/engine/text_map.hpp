#pragma once
// Layer 4 (engine): a hash map keyed by std::string that finds by string_view
// (a frame's bytes) without building a string per lookup.

#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace pseud::detail {

struct TextHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

template <class V>
using TextMap = std::unordered_map<std::string, V, TextHash, std::equal_to<>>;

}  // namespace pseud::detail
