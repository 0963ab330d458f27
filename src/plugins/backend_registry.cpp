// Layer 6 (plugins): backends by name. The built-ins are registered when the
// registry is first used, not by static constructors.

#include <map>
#include <mutex>

#include "builtin.hpp"
#include "pseud/backends.hpp"

namespace pseud {

namespace {

template <class Factory>
struct Table {
  std::mutex mutex;
  std::map<std::string, Factory, std::less<>> factories;

  void add(std::string name, Factory factory) {
    if (name.empty()) throw UsageError("a backend needs a non-empty name");
    if (!factory) throw UsageError("backend '" + name + "': the factory is empty");
    std::lock_guard lock(mutex);
    factories[std::move(name)] = std::move(factory);
  }

  std::vector<std::string> names() {
    std::lock_guard lock(mutex);
    std::vector<std::string> out;
    for (const auto& [name, factory] : factories) out.push_back(name);
    return out;
  }

  Factory find(std::string_view kind, std::string_view name) {
    std::lock_guard lock(mutex);
    if (auto it = factories.find(name); it != factories.end()) return it->second;
    std::string known;
    for (const auto& [n, f] : factories) known += (known.empty() ? "" : ", ") + n;
    throw UsageError("unknown " + std::string(kind) + " backend '" + std::string(name) + "' (known: " + known +
                     "; plugins add more with pseud::load_plugin)");
  }
};

Table<AuthBackendFactory>& auth_table() {
  static Table<AuthBackendFactory>* table = [] {
    auto* t = new Table<AuthBackendFactory>();
    t->add("noop", plugins::make_noop_auth);
    t->add("plain", plugins::make_plain_auth);
    t->add("trusted_curve", plugins::make_trusted_curve_auth);
    t->add("untrusted_curve", plugins::make_untrusted_curve_auth);
    return t;
  }();
  return *table;
}

Table<HeartbeatBackendFactory>& heartbeat_table() {
  static Table<HeartbeatBackendFactory>* table = [] {
    auto* t = new Table<HeartbeatBackendFactory>();
    t->add("noop", plugins::make_noop_heartbeat);
    t->add("liveness", plugins::make_liveness_heartbeat);
    return t;
  }();
  return *table;
}

}  // namespace

void register_auth_backend(std::string name, AuthBackendFactory factory) {
  auth_table().add(std::move(name), std::move(factory));
}

void register_heartbeat_backend(std::string name, HeartbeatBackendFactory factory) {
  heartbeat_table().add(std::move(name), std::move(factory));
}

std::vector<std::string> auth_backend_names() { return auth_table().names(); }

std::vector<std::string> heartbeat_backend_names() { return heartbeat_table().names(); }

std::unique_ptr<AuthBackend> make_auth_backend(const BackendChoice& choice, PeerRole role) {
  auto backend = auth_table().find("authentication", choice.name)(role, choice.settings);
  if (!backend) throw UsageError("authentication backend '" + choice.name + "' made nothing");
  return backend;
}

std::unique_ptr<HeartbeatBackend> make_heartbeat_backend(const BackendChoice& choice, PeerRole role) {
  auto backend = heartbeat_table().find("heartbeat", choice.name)(role, choice.settings);
  if (!backend) throw UsageError("heartbeat backend '" + choice.name + "' made nothing");
  return backend;
}

}  // namespace pseud
