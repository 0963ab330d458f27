// Layer 6 (plugins): backends by name. The built-ins are registered when the
// registry is first used, not by static constructors.

#include <map>
#include <mutex>
#include <optional>

#include "builtin.hpp"
#include "plugins/role_adapters.hpp"
#include "plugins/setting_names.hpp"
#include "pseud/backends.hpp"

namespace pseud {

namespace {

// A factory and, when declared, the setting names each role accepts.
template <class Factory>
struct Entry {
  Factory make;
  std::optional<SettingNames> settings;
};

template <class Factory>
struct Table {
  std::mutex mutex;
  std::map<std::string, Entry<Factory>, std::less<>> entries;

  void add(std::string name, Factory factory, std::optional<SettingNames> settings) {
    if (name.empty()) throw UsageError("a backend needs a non-empty name");
    if (!factory) throw UsageError("backend '" + name + "': the factory is empty");
    std::lock_guard lock(mutex);
    entries[std::move(name)] = {std::move(factory), std::move(settings)};
  }

  std::vector<std::string> names() {
    std::lock_guard lock(mutex);
    std::vector<std::string> out;
    for (const auto& [name, entry] : entries) out.push_back(name);
    return out;
  }

  Entry<Factory> find(std::string_view kind, std::string_view name) {
    std::lock_guard lock(mutex);
    if (auto it = entries.find(name); it != entries.end()) return it->second;
    std::string known;
    for (const auto& [n, e] : entries) known += (known.empty() ? "" : ", ") + n;
    throw UsageError("unknown " + std::string(kind) + " backend '" + std::string(name) + "' (known: " + known +
                     "; plugins add more with pseud::load_plugin)");
  }
};

// Settings of the built-in backends (see each one's source).
const std::vector<std::string> check_limits{"max_checks", "max_checks_per_address", "checks_per_second_per_address",
                                            "check_burst_per_address"};

std::vector<std::string> with_check_limits(std::vector<std::string> names) {
  names.insert(names.end(), check_limits.begin(), check_limits.end());
  return names;
}

Table<AuthBackendFactory>& auth_table() {
  static Table<AuthBackendFactory>* table = [] {
    auto* t = new Table<AuthBackendFactory>();
    t->add("noop", plugins::make_noop_auth, SettingNames{});
    t->add("plain", plugins::make_plain_auth,
           SettingNames{with_check_limits({"user", "user_hash", "hash_cost", "permission", "encrypted_link"}),
                        {"login", "password", "encrypted_link"}});
    t->add("trusted_curve", plugins::make_trusted_curve_auth,
           SettingNames{{"secret_key", "public_key", "trust", "permission"},
                        {"server_public_key", "public_key", "secret_key"}});
    t->add("untrusted_curve", plugins::make_untrusted_curve_auth,
           SettingNames{with_check_limits({"secret_key", "public_key", "user", "user_hash", "hash_cost", "permission",
                                           "max_challenged"}),
                        {"server_public_key", "public_key", "secret_key", "login", "password"}});
    return t;
  }();
  return *table;
}

Table<HeartbeatBackendFactory>& heartbeat_table() {
  static Table<HeartbeatBackendFactory>* table = [] {
    auto* t = new Table<HeartbeatBackendFactory>();
    t->add("noop", plugins::make_noop_heartbeat, SettingNames{});
    const std::vector<std::string> liveness{"interval_ms", "liveness", "require_heartbeats"};
    t->add("liveness", plugins::make_liveness_heartbeat, SettingNames{liveness, liveness});
    return t;
  }();
  return *table;
}

template <class Factory>
void check_settings(const Entry<Factory>& entry, const BackendChoice& choice, PeerRole role) {
  if (!entry.settings) return;
  const auto& known = role == PeerRole::server ? entry.settings->server : entry.settings->client;
  detail::check_setting_names(choice.name, choice.settings, known);
}

std::string role_name(PeerRole role) { return role == PeerRole::server ? "server" : "client"; }

}  // namespace

void register_auth_backend(std::string name, AuthBackendDefinition definition) {
  if (!definition.server && !definition.client) {
    throw UsageError("backend '" + name + "': neither a server nor a client factory");
  }
  const std::string label = name;
  AuthBackendFactory factory = [label, server = std::move(definition.server), client = std::move(definition.client),
                                takeover = definition.allows_routing_id_takeover](
                                   PeerRole role, const Settings& settings) -> std::unique_ptr<AuthBackend> {
    const bool has_role = role == PeerRole::server ? static_cast<bool>(server) : static_cast<bool>(client);
    if (!has_role) throw UsageError("authentication backend '" + label + "' has no " + role_name(role) + " side");
    if (role == PeerRole::server) {
      auto made = server(settings);
      if (!made) throw UsageError("authentication backend '" + label + "' made no server side");
      return detail::adapt_server_auth(std::move(made), takeover);
    }
    auto made = client(settings);
    if (!made) throw UsageError("authentication backend '" + label + "' made no client side");
    return detail::adapt_client_auth(std::move(made));
  };
  auth_table().add(std::move(name), std::move(factory), std::move(definition.settings));
}

void register_auth_backend(std::string name, AuthBackendFactory factory, std::optional<SettingNames> settings) {
  auth_table().add(std::move(name), std::move(factory), std::move(settings));
}

void register_heartbeat_backend(std::string name, HeartbeatBackendFactory factory,
                                std::optional<std::vector<std::string>> settings) {
  std::optional<SettingNames> names;
  if (settings) names = SettingNames{*settings, *settings};
  heartbeat_table().add(std::move(name), std::move(factory), std::move(names));
}

std::vector<std::string> auth_backend_names() { return auth_table().names(); }

std::vector<std::string> heartbeat_backend_names() { return heartbeat_table().names(); }

std::unique_ptr<AuthBackend> make_auth_backend(const BackendChoice& choice, PeerRole role) {
  const auto entry = auth_table().find("authentication", choice.name);
  check_settings(entry, choice, role);
  auto backend = entry.make(role, choice.settings);
  if (!backend) throw UsageError("authentication backend '" + choice.name + "' made nothing");
  return backend;
}

std::unique_ptr<HeartbeatBackend> make_heartbeat_backend(const BackendChoice& choice, PeerRole role) {
  const auto entry = heartbeat_table().find("heartbeat", choice.name);
  check_settings(entry, choice, role);
  auto backend = entry.make(role, choice.settings);
  if (!backend) throw UsageError("heartbeat backend '" + choice.name + "' made nothing");
  return backend;
}

}  // namespace pseud
