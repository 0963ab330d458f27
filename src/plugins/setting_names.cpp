// Layer 6 (plugins): refusing settings a backend does not know.

#include "plugins/setting_names.hpp"

#include <algorithm>

namespace pseud::detail {

void check_setting_names(std::string_view backend, const Settings& settings, const std::vector<std::string>& known) {
  for (const auto& [name, value] : settings.entries()) {
    if (std::find(known.begin(), known.end(), name) != known.end()) continue;
    std::vector<std::string> sorted = known;
    std::sort(sorted.begin(), sorted.end());
    std::string list;
    for (const auto& each : sorted) list += (list.empty() ? "" : ", ") + each;
    // The value is never quoted: it may be a password or a secret key.
    throw UsageError(std::string(backend) + ": unknown setting '" + name + "' (known: " +
                     (list.empty() ? std::string("none") : list) + ")");
  }
}

}  // namespace pseud::detail
