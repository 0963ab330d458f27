#pragma once
/// The run-time registry of authentication and heartbeat backends, and the
/// loader of shared-object plugins that add to it.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pseud/auth.hpp"
#include "pseud/auth_roles.hpp"
#include "pseud/heartbeat.hpp"
#include "pseud/settings.hpp"

namespace pseud {

/// Makes a backend for `role`; throws UsageError when `settings` do not fit.
using AuthBackendFactory = std::function<std::unique_ptr<AuthBackend>(PeerRole role, const Settings& settings)>;
using HeartbeatBackendFactory =
    std::function<std::unique_ptr<HeartbeatBackend>(PeerRole role, const Settings& settings)>;

/// The names of the settings a backend takes in each role. A setting under
/// any other name (a misspelt "interval_msec") is refused when the backend
/// is made, with a UsageError listing these: it would otherwise be ignored.
struct SettingNames {
  std::vector<std::string> server{};
  std::vector<std::string> client{};
};

/// An authentication backend of your own, by role (auth_roles.hpp).
struct AuthBackendDefinition {
  /// Makes the server side; throws UsageError when `settings` do not fit.
  /// Empty: the backend has no server side (a server naming it is refused).
  std::function<std::unique_ptr<ServerAuth>(const Settings& settings)> server{};
  /// Makes the client side; empty: no client side (clients of a server of
  /// yours may use a built-in client, e.g. "plain" or "trusted_curve").
  std::function<std::unique_ptr<ClientAuth>(const Settings& settings)> client{};
  /// The only settings each side accepts (none unless listed).
  SettingNames settings{};
  /// Lets a new connection take over a connected peer's routing id, and
  /// send_to() address bare routing ids (see AuthBackend::allows_routing_id_takeover).
  /// Only for a backend that does not authenticate anyone.
  bool allows_routing_id_takeover = false;
};

/// Registers (or replaces) the auth backend called `name`. Thread-safe.
void register_auth_backend(std::string name, AuthBackendDefinition definition);
/// The same for a backend written against the whole AuthBackend interface;
/// with `settings`, other setting names are refused, as above.
void register_auth_backend(std::string name, AuthBackendFactory factory,
                           std::optional<SettingNames> settings = std::nullopt);
/// Registers (or replaces) the heartbeat backend called `name`; with
/// `settings`, the only setting names it accepts. Thread-safe.
void register_heartbeat_backend(std::string name, HeartbeatBackendFactory factory,
                                std::optional<std::vector<std::string>> settings = std::nullopt);

/// Names of the registered backends, sorted.
std::vector<std::string> auth_backend_names();
std::vector<std::string> heartbeat_backend_names();

/// Creates the backend `choice` names; throws UsageError for an unknown name (listing the known ones).
std::unique_ptr<AuthBackend> make_auth_backend(const BackendChoice& choice, PeerRole role);
std::unique_ptr<HeartbeatBackend> make_heartbeat_backend(const BackendChoice& choice, PeerRole role);

/// Version of the plugin interface; a plugin built against another is
/// refused before any of its code runs. 2: auth backends by role
/// (auth_roles.hpp), declared setting names, allows_routing_id_takeover().
inline constexpr int plugin_abi_version = 2;

/// Loads the shared object at `path` and runs its entry point, which
/// registers its backends. The object stays loaded for the life of the
/// process. Throws Error naming the path and the reason on failure (a
/// plugin built for another interface version: both versions).
void load_plugin(const std::string& path);

}  // namespace pseud

/// The exported C entry point of a plugin: receives the library's
/// plugin_abi_version and returns 0 after registering its backends, or
/// non-zero to refuse (e.g. on a version mismatch).
#define PSEUD_PLUGIN_ENTRY_NAME "pseud_plugin_register"
/// The exported int holding the plugin_abi_version a plugin was built with
/// (read before the entry point runs; plugins of version 1 had none).
#define PSEUD_PLUGIN_VERSION_NAME "pseud_plugin_abi_version"

/// Defines the entry point: `PSEUD_PLUGIN { pseud::register_auth_backend(...); }`.
#define PSEUD_PLUGIN                                                                          \
  extern "C" __attribute__((visibility("default"))) const int pseud_plugin_abi_version =     \
      pseud::plugin_abi_version;                                                              \
  static void pseud_plugin_body();                                                            \
  extern "C" __attribute__((visibility("default"))) int pseud_plugin_register(int abi) {      \
    if (abi != pseud::plugin_abi_version) return 1;                                           \
    try {                                                                                     \
      pseud_plugin_body();                                                                    \
    } catch (...) {                                                                           \
      return 2;                                                                               \
    }                                                                                         \
    return 0;                                                                                 \
  }                                                                                           \
  static void pseud_plugin_body()
