#pragma once
/// The host side of plugins as child processes (protocol/PLUGINS.md): start a
/// plugin executable, agree on a protocol version, call it over CURVE on a
/// private socket, and shut it down without leaving a process behind.
///
///   pseud::PluginProcess counter({.argv = {"./counter_plugin"},
///                                 .cookie = {"COUNTER_PLUGIN", "hello"},
///                                 .versions = {1, 2}});
///   counter.client().call<int>("count");
///   counter.close();  // exit 0 expected
///
/// Lifecycle guarantees (Linux):
///  - the plugin runs in a process group of its own; close() and the
///    destructor end with SIGKILL to whatever is left in that group, so no
///    grandchild outlives it;
///  - the plugin receives SIGTERM when the host dies, even by SIGKILL
///    (PR_SET_PDEATHSIG, set from a thread that lives exactly as long as the
///    plugin, and a parent check in the plugin);
///  - the plugin is always reaped: no zombie;
///  - its descriptors are 0 (/dev/null), 1 and 2 (read by the host, line by
///    line, to the log or `on_output`) and 3 (the handshake); it inherits no
///    other descriptor of the host;
///  - fresh CURVE key pairs on both sides for every launch; only this host's
///    key is accepted by the plugin; its socket lives in a 0700 directory made
///    for the launch and removed on close.

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

#include "pseud/peer.hpp"
#include "pseud/peer_options.hpp"
#include "pseud/plugin_protocol.hpp"

namespace pseud {

/// Which of the plugin's output streams a line came from.
enum class PluginStream { stdout_stream, stderr_stream };

struct PluginLaunch {
  /// The plugin's command line; argv[0] is a path, or a name looked up in PATH.
  std::vector<std::string> argv;
  /// When set (64 hex digits, as `sha256sum` prints), the program must have
  /// this SHA-256. It is hashed and then executed through one open
  /// descriptor, so it cannot be swapped in between; a mismatch is a
  /// PluginError and nothing runs. Binaries only: a "#!" script is refused,
  /// since its interpreter would read it again by name.
  std::string sha256{};
  PluginCookie cookie;
  /// The protocol versions this host can speak.
  std::vector<int> versions{1};
  /// The name in log lines and errors; by default the file name of argv[0].
  std::string name{};
  /// From the start to a client that had its first answer (pseud.health).
  std::chrono::milliseconds start_timeout{10000};
  /// close(): how long the plugin has to finish its calls and exit after the
  /// shutdown call, before SIGTERM to its process group ...
  std::chrono::milliseconds grace{2000};
  /// ... and after SIGTERM, before SIGKILL.
  std::chrono::milliseconds kill_delay{500};
  /// The transports offered, preferred first (PLUGIN_TRANSPORTS).
  std::vector<PluginTransport> transports{PluginTransport::unix_socket, PluginTransport::tcp};
  /// Options of the client that talks to the plugin (timeouts, limits).
  /// Its `auth` is the host's: set it and start() throws UsageError.
  PeerOptions client_options{};
  /// More environment for the plugin, "KEY=VALUE" each (it also inherits the host's).
  std::vector<std::string> environment{};
  /// Receives each line the plugin writes to stdout or stderr (at most 4 KiB
  /// a line; longer ones are cut). Called from the plugin's supervising
  /// thread; must not block. By default lines go to the log: stderr at info,
  /// stdout at debug, as "plugin NAME: LINE".
  std::function<void(PluginStream stream, std::string_view line)> on_output{};
};

/// How a plugin process ended.
struct PluginExit {
  bool exited = false;  ///< true: it exited with `code`; false: killed by `signal`
  int code = 0;
  int signal = 0;
  /// As a shell reports it: the exit status, or 128 + the signal.
  int status() const noexcept { return exited ? code : 128 + signal; }
  /// "exit status 0", "killed by signal 9 (Killed)".
  std::string describe() const;
};

/// A running plugin. Starting it does the host's side of the handshake;
/// destroying it closes it.
class PluginProcess {
 public:
  /// Starts the plugin and waits until it has answered its first call (the
  /// health check), at most launch.start_timeout. Throws PluginError when the
  /// program cannot be run, exits, or writes no usable handshake line in time
  /// (the plugin is stopped, its group killed and its directory removed), and
  /// UsageError for a launch that cannot work (no argv, no versions, a client
  /// auth choice).
  explicit PluginProcess(PluginLaunch launch);
  ~PluginProcess();
  PluginProcess(PluginProcess&&) noexcept;
  PluginProcess& operator=(PluginProcess&&) noexcept;
  PluginProcess(const PluginProcess&) = delete;
  PluginProcess& operator=(const PluginProcess&) = delete;

  /// The client bound to the plugin's server, speaking the negotiated version.
  /// Valid until close().
  Client& client();
  /// The protocol version the plugin chose.
  int version() const noexcept;
  pid_t pid() const noexcept;
  /// The plugin's endpoint as the handshake gave it (ipc://PATH or tcp://127.0.0.1:PORT).
  const std::string& endpoint() const noexcept;
  /// The handshake line the plugin wrote, parsed (its server key included).
  const PluginHandshake& handshake() const noexcept;
  const std::string& name() const noexcept;
  /// The private directory made for the plugin's socket (removed on close).
  const std::string& socket_directory() const noexcept;
  /// True until the plugin process has exited.
  bool running() const;

  /// Shuts the plugin down (protocol/PLUGINS.md section 4): the reserved
  /// shutdown call; after `grace` SIGTERM to its process group; after
  /// `kill_delay` SIGKILL; then SIGKILL to what is left in the group. Reaps
  /// it, stops the client, removes the socket directory. Returns how it ended;
  /// calling it again returns the same.
  PluginExit close();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pseud
