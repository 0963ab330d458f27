#pragma once
/// The run-time registry of authentication and heartbeat backends, and the
/// loader of shared-object plugins that add to it.

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pseud/auth.hpp"
#include "pseud/heartbeat.hpp"
#include "pseud/settings.hpp"

namespace pseud {

/// Makes a backend for `role`; throws UsageError when `settings` do not fit.
using AuthBackendFactory = std::function<std::unique_ptr<AuthBackend>(PeerRole role, const Settings& settings)>;
using HeartbeatBackendFactory =
    std::function<std::unique_ptr<HeartbeatBackend>(PeerRole role, const Settings& settings)>;

/// Registers (or replaces) the auth backend called `name`. Thread-safe.
void register_auth_backend(std::string name, AuthBackendFactory factory);
/// Registers (or replaces) the heartbeat backend called `name`. Thread-safe.
void register_heartbeat_backend(std::string name, HeartbeatBackendFactory factory);

/// Names of the registered backends, sorted.
std::vector<std::string> auth_backend_names();
std::vector<std::string> heartbeat_backend_names();

/// Creates the backend `choice` names; throws UsageError for an unknown name (listing the known ones).
std::unique_ptr<AuthBackend> make_auth_backend(const BackendChoice& choice, PeerRole role);
std::unique_ptr<HeartbeatBackend> make_heartbeat_backend(const BackendChoice& choice, PeerRole role);

/// Version of the plugin interface; a plugin built against another is refused.
inline constexpr int plugin_abi_version = 1;

/// Loads the shared object at `path` and runs its entry point, which
/// registers its backends. The object stays loaded for the life of the
/// process. Throws Error naming the path and the reason on failure.
void load_plugin(const std::string& path);

}  // namespace pseud

/// The one exported C entry point of a plugin: receives the library's
/// plugin_abi_version and returns 0 after registering its backends, or
/// non-zero to refuse (e.g. on a version mismatch).
#define PSEUD_PLUGIN_ENTRY_NAME "pseud_plugin_register"

/// Defines the entry point: `PSEUD_PLUGIN { pseud::register_auth_backend(...); }`.
#define PSEUD_PLUGIN                                                                          \
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
