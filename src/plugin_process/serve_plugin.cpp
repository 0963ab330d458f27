// The plugin side of protocol/PLUGINS.md in one call.

#include "pseud/plugin_serve.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <set>

#include "plugin_process/private_directory.hpp"
#include "plugin_process/unique_fd.hpp"
#include "pseud/errors.hpp"
#include "pseud/keys.hpp"
#include "pseud/log.hpp"
#include "pseud/peer.hpp"

namespace pseud {

namespace {

// How often the plugin looks for its host having gone (PLUGINS.md section 2.7).
constexpr int parent_check_ms = 200;

// The plugin must not run: one line on stderr, and exit status 1.
struct Refusal {
  std::string line;
};

std::string environment(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

void check_options(const PluginServeOptions& options, const std::vector<PluginVersion>& versions) {
  const auto& server = options.server_options;
  if (server.auth.name != "noop" || !server.routing_id.empty() || !server.instance.empty() ||
      server.parent_registry != &global_registry())
    throw UsageError("serve_plugin: server_options.auth, routing_id, instance and parent_registry are "
                     "serve_plugin's own (CURVE for the host's key, 'plugin', the version's registry); leave them unset");
  if (versions.empty()) throw UsageError("serve_plugin: no version to serve");
  std::set<int> seen;
  for (const auto& version : versions) {
    if (version.version <= 0 || !seen.insert(version.version).second || !version.registry)
      throw UsageError("serve_plugin: versions must be distinct positive integers, each with a registry");
  }
}

const PluginVersion& choose_version(const std::vector<PluginVersion>& versions) {
  const std::string offered = environment(plugin_env::versions);
  if (offered.empty()) throw Refusal{std::string(plugin_env::versions) + " is not set: this plugin needs its host's versions"};
  std::vector<int> host;
  try {
    host = parse_plugin_versions(offered, plugin_env::versions);
  } catch (const UsageError& e) {
    throw Refusal{e.what()};
  }
  std::vector<int> own;
  for (const auto& version : versions) own.push_back(version.version);
  const auto chosen = highest_common_version(host, own);
  if (!chosen)
    throw Refusal{"no protocol version in common: the host supports " + plugin_versions_text(host) +
                  ", this plugin supports " + plugin_versions_text(own)};
  for (const auto& version : versions)
    if (version.version == *chosen) return version;
  throw Refusal{"internal error: the chosen version is missing"};
}

PluginTransport choose_transport() {
  std::string offered = environment(plugin_env::transports);
  if (offered.empty()) offered = "unix,tcp";  // go-plugin never sets it; this is its default
  std::size_t start = 0;
  while (start <= offered.size()) {
    const std::size_t comma = std::min(offered.find(',', start), offered.size());
    const std::string name = offered.substr(start, comma - start);
    if (name == "unix") return PluginTransport::unix_socket;
    if (name == "tcp") return PluginTransport::tcp;
    start = comma + 1;
  }
  throw Refusal{"none of the host's transports (" + offered + ") is one this plugin speaks (unix, tcp)"};
}

int handshake_descriptor() {
  const std::string text = environment(plugin_env::handshake_fd);
  if (text.empty()) return STDOUT_FILENO;
  char* end = nullptr;
  const long fd = std::strtol(text.c_str(), &end, 10);
  if (end == text.c_str() || *end != '\0' || fd < 0 || fd > 65535 || ::fcntl(static_cast<int>(fd), F_GETFD) < 0)
    throw Refusal{std::string(plugin_env::handshake_fd) + "=" + text + " is not an open descriptor"};
  return static_cast<int>(fd);
}

void write_line(int fd, const std::string& line) {
  if (fd == STDOUT_FILENO) std::fflush(stdout);  // what the plugin printed before comes first
  std::string_view rest = line;
  while (!rest.empty()) {
    const ssize_t n = ::write(fd, rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw Refusal{"cannot write the handshake line: " + std::string(std::strerror(errno))};
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
  if (fd != STDOUT_FILENO) ::close(fd);
}

// Blocks the stop signals in this thread (and so in the server's threads,
// started after) and hands them over as a descriptor; restores on the way out.
class StopSignals {
 public:
  StopSignals() {
    sigemptyset(&set_);
    for (int signal_number : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&set_, signal_number);
    ::pthread_sigmask(SIG_BLOCK, &set_, &previous_);
    fd_.reset(::signalfd(-1, &set_, SFD_CLOEXEC | SFD_NONBLOCK));
  }
  ~StopSignals() {
    // Take what came after the first, or unblocking would deliver it with its
    // default action: a host's second SIGTERM, or PR_SET_PDEATHSIG firing
    // once for each of a dying host's threads.
    const timespec now{};
    while (::sigtimedwait(&set_, nullptr, &now) > 0) {
    }
    fd_.reset();
    ::pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
  }
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;
  int fd() const noexcept { return fd_.get(); }

 private:
  sigset_t set_{};
  sigset_t previous_{};
  detail::UniqueFd fd_;
};

// Waits for a reason to stop: the shutdown call, a stop signal, or the host gone.
std::string wait_for_stop(const StopSignals& signals, int shutdown_fd, pid_t host) {
  while (true) {
    pollfd polled[2] = {{signals.fd(), POLLIN, 0}, {shutdown_fd, POLLIN, 0}};
    const int ready = ::poll(polled, 2, parent_check_ms);
    if (ready < 0 && errno != EINTR) return "poll failed";
    if (polled[1].revents) return "the host's shutdown call";
    if (polled[0].revents) {
      signalfd_siginfo info{};
      if (::read(signals.fd(), &info, sizeof info) == static_cast<ssize_t>(sizeof info))
        return std::string("signal ") + ::strsignal(static_cast<int>(info.ssi_signo));
    }
    if (::getppid() != host) return "its host has gone";
  }
}

int serve(const PluginCookie& cookie, const std::vector<PluginVersion>& versions, const PluginServeOptions& options) {
  const char* cookie_value = std::getenv(cookie.key.c_str());
  if (!cookie_value || cookie.value != cookie_value)
    throw Refusal{"this program is a pseud plugin: its host application starts it, with " + cookie.key +
                  " set in its environment; it is not meant to be run by hand "
                  "(to try it: pseud plugin --cookie " + cookie.key + "=... -- PROGRAM)"};
  const pid_t host = ::getppid();
  const PluginVersion& chosen = choose_version(versions);
  const PluginTransport transport = choose_transport();
  const std::string host_key = environment(plugin_env::client_key);
  if (!is_valid_curve_key(host_key))
    throw Refusal{std::string(plugin_env::client_key) + " is not a 40-character Z85 CURVE public key"};
  const int handshake_fd = handshake_descriptor();

  StopSignals signals;
  detail::UniqueFd shutdown_requested(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (signals.fd() < 0 || !shutdown_requested) throw Refusal{"cannot make a signalfd or an eventfd"};

  const CurveKeyPair keys = generate_curve_keypair();
  PeerOptions server_options = options.server_options;
  server_options.auth = {"trusted_curve", {{"secret_key", keys.secret_key}, {"trust", "host=" + host_key}}};
  server_options.parent_registry = chosen.registry;
  Server server(std::string(plugin_server_name), server_options);
  server.register_rpc(
      std::string(plugin_shutdown_function),
      [fd = shutdown_requested.get()]() -> std::string {
        const std::uint64_t one = 1;
        [[maybe_unused]] auto written = ::write(fd, &one, sizeof one);
        return "ok";
      },
      {.doc = "Shuts this plugin down: new calls are refused, calls in flight finish, then it exits 0."});

  detail::PrivateDirectory own_directory;
  std::string socket_path;
  std::string address;
  if (transport == PluginTransport::unix_socket) {
    std::string directory = environment(plugin_env::socket_dir);
    if (directory.empty()) {
      own_directory = detail::PrivateDirectory::make();
      directory = own_directory.path();
    } else if (!detail::is_private_directory(directory)) {
      throw Refusal{std::string(plugin_env::socket_dir) + "=" + directory + " is not a directory only this user may enter"};
    }
    socket_path = directory + "/plugin.sock";
    server.bind("ipc://" + socket_path);
    address = socket_path;
  } else {
    address = server.bind("tcp://127.0.0.1:*").substr(std::string_view("tcp://").size());
  }

  write_line(handshake_fd, PluginHandshake{chosen.version, transport, address, keys.public_key}.line() + "\n");
  log(LogLevel::debug, "plugin: serving version ", chosen.version, " at ", address);
  if (options.on_ready) options.on_ready(chosen.version);

  const std::string reason = wait_for_stop(signals, shutdown_requested.get(), host);
  log(LogLevel::debug, "plugin: stopping on ", reason);
  if (options.on_shutdown) options.on_shutdown();
  server.stop(options.grace);
  if (!socket_path.empty()) ::unlink(socket_path.c_str());
  // A host that died cannot remove the directory it made; a living one does.
  if (const std::string host_directory = environment(plugin_env::socket_dir);
      ::getppid() != host && !host_directory.empty())
    ::rmdir(host_directory.c_str());
  return 0;
}

}  // namespace

int serve_plugin(const PluginCookie& cookie, const std::vector<PluginVersion>& versions, PluginServeOptions options) {
  check_options(options, versions);
  try {
    return serve(cookie, versions, options);
  } catch (const Refusal& refusal) {
    std::fprintf(stderr, "%s\n", refusal.line.c_str());
  } catch (const Error& e) {
    std::fprintf(stderr, "plugin: cannot serve: %s\n", e.what());
  }
  std::fflush(stderr);
  return 1;
}

}  // namespace pseud
