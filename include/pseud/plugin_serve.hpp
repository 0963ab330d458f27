#pragma once
/// The plugin side of plugins as child processes (protocol/PLUGINS.md), in one
/// call:
///
///   int main() {
///     pseud::Registry v1, v2;
///     v1.register_rpc("count", ...);
///     ...
///     return pseud::serve_plugin({"COUNTER_PLUGIN", "hello"}, {{1, v1}, {2, v2}});
///   }
///
/// serve_plugin checks the cookie, picks the highest version both sides list,
/// binds a server named "plugin" on a private unix socket (or 127.0.0.1 over
/// tcp) accepting only the host's CURVE key, writes the handshake line, and
/// serves that version's registry until the host's shutdown call, SIGTERM,
/// SIGINT, or its parent going away. Call it from the main thread before
/// starting threads of your own: it blocks SIGTERM, SIGINT and SIGHUP in the
/// calling thread (threads started later inherit that) to wait for them.

#include <chrono>
#include <functional>
#include <vector>

#include "pseud/peer_options.hpp"
#include "pseud/plugin_protocol.hpp"
#include "pseud/registry.hpp"

namespace pseud {

/// A protocol version and the functions it serves. The registry must outlive
/// serve_plugin; it is searched after the plugin server's own reserved calls.
struct PluginVersion {
  PluginVersion(int version_number, const Registry& functions) : version(version_number), registry(&functions) {}
  int version;
  const Registry* registry;
};

struct PluginServeOptions {
  /// How long calls in flight may take to finish once a shutdown began.
  std::chrono::milliseconds grace{2000};
  /// The server's options (limits, timeouts). Its auth, parent_registry,
  /// routing_id and instance are serve_plugin's: set them and it fails.
  PeerOptions server_options{};
  /// Called once the handshake line is written, with the chosen version.
  std::function<void(int version)> on_ready{};
  /// Called when a shutdown begins, before calls in flight are waited for.
  std::function<void()> on_shutdown{};
};

/// Does the plugin's side of the protocol and returns the process's exit
/// status: 0 after a shutdown, 1 when the plugin must not run (wrong or
/// missing cookie, no version in common, an environment it cannot use), with
/// one line on stderr saying why.
int serve_plugin(const PluginCookie& cookie, const std::vector<PluginVersion>& versions,
                 PluginServeOptions options = {});

}  // namespace pseud
