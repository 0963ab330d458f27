#pragma once
// Layer 6 (plugins): refusing settings a backend does not know.

#include <string_view>
#include <vector>

#include "pseud/settings.hpp"

namespace pseud::detail {

/// Throws UsageError naming `backend`, the first unknown setting and the
/// known ones, when a setting of `settings` is not in `known`.
void check_setting_names(std::string_view backend, const Settings& settings, const std::vector<std::string>& known);

}  // namespace pseud::detail
