#include "peer/health_table.hpp"

#include <algorithm>

#include "pseud/errors.hpp"

namespace pseud::detail {

void HealthTable::add_own_name(std::string name) {
  if (name.empty()) return;
  std::lock_guard lock(mutex_);
  if (!is_own(name)) own_names_.push_back(std::move(name));
}

bool HealthTable::is_own(std::string_view service) const {
  return service.empty() || std::find(own_names_.begin(), own_names_.end(), service) != own_names_.end();
}

void HealthTable::set(std::string_view service, bool serving) {
  if (service.size() > max_name_size) {
    throw UsageError("set_health: the service name is " + std::to_string(service.size()) +
                     " bytes, over the limit of " + std::to_string(max_name_size) + "; use a shorter name");
  }
  std::lock_guard lock(mutex_);
  if (stopping_) return;
  if (is_own(service)) {
    whole_ = serving;
    return;
  }
  const auto found = services_.find(std::string(service));
  if (found != services_.end()) {
    found->second = serving;
    return;
  }
  if (services_.size() >= max_services) {
    throw UsageError("set_health: this peer already declares " + std::to_string(max_services) +
                     " services, the limit; reuse a name or report several parts under one");
  }
  services_.emplace(std::string(service), serving);
}

std::optional<bool> HealthTable::serving(std::string_view service) const {
  std::lock_guard lock(mutex_);
  const bool whole = whole_ && !stopping_;
  if (is_own(service)) return whole;
  const auto found = services_.find(std::string(service));
  if (found == services_.end()) return std::nullopt;
  return whole && found->second;
}

void HealthTable::stopping() {
  std::lock_guard lock(mutex_);
  stopping_ = true;
}

}  // namespace pseud::detail
