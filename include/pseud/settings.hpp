#pragma once
/// Settings of a backend: ordered name/value pairs where a name may repeat
/// ("user" = "alice=secret", "user" = "bob=hunter2"), as on a command line.

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pseud/errors.hpp"

namespace pseud {

class Settings {
 public:
  Settings() = default;
  Settings(std::initializer_list<std::pair<std::string, std::string>> entries) : entries_(entries) {}

  /// Appends `name` = `value` (names may repeat).
  Settings& add(std::string name, std::string value) {
    entries_.emplace_back(std::move(name), std::move(value));
    return *this;
  }

  /// The last value of `name`, or nullopt.
  std::optional<std::string> get(std::string_view name) const {
    for (auto it = entries_.rbegin(); it != entries_.rend(); ++it) {
      if (it->first == name) return it->second;
    }
    return std::nullopt;
  }

  /// The last value of `name`, or `fallback`.
  std::string get_or(std::string_view name, std::string fallback) const { return get(name).value_or(std::move(fallback)); }

  /// The last value of `name`; throws UsageError naming `backend` when it is missing.
  std::string require(std::string_view name, std::string_view backend) const {
    if (auto value = get(name)) return *value;
    throw UsageError(std::string(backend) + ": the setting '" + std::string(name) + "' is required");
  }

  /// Every value of `name`, in order.
  std::vector<std::string> all(std::string_view name) const {
    std::vector<std::string> values;
    for (const auto& [n, v] : entries_) {
      if (n == name) values.push_back(v);
    }
    return values;
  }

  const std::vector<std::pair<std::string, std::string>>& entries() const noexcept { return entries_; }

 private:
  std::vector<std::pair<std::string, std::string>> entries_;
};

/// Splits "name=value" at the first '='; throws UsageError naming `what` when there is none.
inline std::pair<std::string, std::string> split_assignment(std::string_view text, std::string_view what) {
  const auto at = text.find('=');
  if (at == std::string_view::npos || at == 0) {
    throw UsageError(std::string(what) + ": expected NAME=VALUE, got '" + std::string(text) + "'");
  }
  return {std::string(text.substr(0, at)), std::string(text.substr(at + 1))};
}

/// A backend chosen by name, with its settings.
struct BackendChoice {
  std::string name = "noop";
  Settings settings{};
};

}  // namespace pseud
