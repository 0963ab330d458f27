#pragma once
// Layer 7 (discovery): parses JSON from a backend without trusting it:
// bounded nesting, no exceptions.

#include <optional>
#include <string_view>

#include <nlohmann/json.hpp>

namespace pseud::detail::discovery {

/// The JSON value in `text`, or nullopt when it is malformed or nested
/// deeper than max_json_depth. Never throws.
std::optional<nlohmann::json> parse_bounded_json(std::string_view text) noexcept;

}  // namespace pseud::detail::discovery
