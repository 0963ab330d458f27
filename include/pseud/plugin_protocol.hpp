#pragma once
/// Plugins as child processes: what the host and the plugin agree on
/// (protocol/PLUGINS.md). The host side is pseud/plugin_host.hpp, the plugin
/// side pseud/plugin_serve.hpp; these pieces are public so that a plugin or a
/// host written by hand speaks the same protocol.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pseud {

/// Environment variables the host sets for the plugin (besides the cookie).
namespace plugin_env {
inline constexpr const char* versions = "PLUGIN_PROTOCOL_VERSIONS";
inline constexpr const char* transports = "PLUGIN_TRANSPORTS";
inline constexpr const char* client_key = "PSEUD_PLUGIN_CLIENT_KEY";
inline constexpr const char* handshake_fd = "PSEUD_PLUGIN_HANDSHAKE_FD";
inline constexpr const char* socket_dir = "PSEUD_PLUGIN_SOCKET_DIR";
}  // namespace plugin_env

/// The routing id of a plugin's server, and the reserved call that shuts it down.
inline constexpr std::string_view plugin_server_name = "plugin";
inline constexpr std::string_view plugin_shutdown_function = "pseud.plugin.shutdown";
/// The version of the handshake line itself (its first field).
inline constexpr int plugin_handshake_version = 1;

/// The application-chosen KEY=VALUE a plugin expects in its environment: it
/// tells a plugin that its host started it. Not a secret.
struct PluginCookie {
  std::string key;
  std::string value;
  /// Parses "KEY=VALUE". Throws UsageError when there is no '=', the key is
  /// empty or the key cannot be an environment variable name.
  static PluginCookie parse(std::string_view key_equals_value);
};

enum class PluginTransport { unix_socket, tcp };

/// "unix" or "tcp".
std::string_view plugin_transport_name(PluginTransport transport) noexcept;

/// What a plugin's handshake line says.
struct PluginHandshake {
  int version = 0;  ///< the negotiated protocol version
  PluginTransport transport = PluginTransport::unix_socket;
  std::string address;     ///< a socket's absolute path, or 127.0.0.1:PORT
  std::string server_key;  ///< the plugin's CURVE public key, Z85

  /// The ZeroMQ endpoint to connect to: ipc://PATH or tcp://HOST:PORT.
  std::string endpoint() const;
  /// The line, without its "\n".
  std::string line() const;
};

/// Parses a handshake line (a trailing "\r" or "\n" is ignored). Throws
/// PluginError naming what is wrong: not a handshake line; a handshake
/// version other than 1; a go-plugin line (protocol grpc or netrpc) or an
/// rpcplugin one (4 or 5 fields: gRPC), which pseud++ cannot host; an unknown
/// transport; a tcp address off the loopback interface; a unix path that is
/// not absolute; a server key that is not Z85. The message quotes at most 200
/// characters of the line.
PluginHandshake parse_plugin_handshake(std::string_view line);

/// True when `line` is shaped like a handshake line of any of the three
/// families (pseud, go-plugin, rpcplugin): "1|<digits>|<word>|..." with at
/// least four fields. A host uses it to tell a plugin's handshake written on
/// standard output from its other output.
bool looks_like_plugin_handshake(std::string_view line) noexcept;

/// Parses a comma-separated list of protocol versions ("1,2"): positive
/// decimal integers, spaces around them allowed. Throws UsageError naming
/// `what` when the list is empty or an entry is not such an integer.
std::vector<int> parse_plugin_versions(std::string_view text, std::string_view what);

/// "1,2".
std::string plugin_versions_text(const std::vector<int>& versions);

/// The highest version in both lists, if any.
std::optional<int> highest_common_version(const std::vector<int>& host, const std::vector<int>& plugin);

}  // namespace pseud
