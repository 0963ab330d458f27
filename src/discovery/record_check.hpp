#pragma once
// Layer 7 (discovery): the checks of a record a caller publishes, and of the
// names that make up a key.

#include <string_view>

#include "pseud/discovery.hpp"

namespace pseud::detail::discovery {

/// Throws UsageError naming what is wrong when `record` cannot be published:
/// service, instance and one endpoint are required; names are printable
/// without '/'; routing_id, when empty, becomes "<service>@<instance>";
/// every field within the limits of limits.hpp.
void check_publishable(InstanceRecord& record);

/// True for a service or instance name usable in a key: 1..max_field_bytes
/// bytes, printable (no control characters), without '/'.
bool valid_name(std::string_view name) noexcept;

/// True when `text` holds no control characters.
bool printable(std::string_view text) noexcept;

}  // namespace pseud::detail::discovery
