#include "handshake_server.hpp"

namespace pseud::plugins {

Permissions::Permissions(const Settings& settings, std::string_view backend) {
  for (const auto& grant : settings.all("permission")) {
    grants_.push_back(split_assignment(grant, std::string(backend) + ": permission"));
  }
}

PredicateArgs Permissions::arguments_for(const std::string& user) const {
  PredicateArgs args;
  args.user_id = user;
  for (const auto& [who, what] : grants_) {
    if (who == user) args.permissions.push_back(what);
  }
  return args;
}

void load_users(const Settings& settings, std::string_view backend, PasswordStore& store) {
  const std::string cost_name = settings.get_or("hash_cost", "interactive");
  if (cost_name != "interactive" && cost_name != "minimal") {
    throw UsageError(std::string(backend) + ": hash_cost must be 'interactive' or 'minimal', not '" + cost_name + "'");
  }
  const auto cost = cost_name == "minimal" ? HashCost::minimal : HashCost::interactive;
  for (const auto& entry : settings.all("user")) {
    auto [login, password] = split_assignment(entry, std::string(backend) + ": user");
    store.add_password(std::move(login), password, cost);
  }
  for (const auto& entry : settings.all("user_hash")) {
    auto [login, hash] = split_assignment(entry, std::string(backend) + ": user_hash");
    store.add_hash(std::move(login), std::move(hash));
  }
}

bool setting_is_true(const Settings& settings, std::string_view name) {
  const auto value = settings.get(name);
  return value && (*value == "1" || *value == "true" || *value == "yes" || *value == "on");
}

}  // namespace pseud::plugins
