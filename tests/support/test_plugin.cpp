// test_plugin: the plugin program of tests/integration/plugin_process_test.cpp.
//
//   test_plugin [--versions LIST] [--noise]
//       a plugin as pseud::serve_plugin makes one (the normal case);
//   test_plugin --raw | --ignore-shutdown | --ignore-term [--versions LIST] [--on-stdout]
//       the protocol done by hand with the library's public pieces (a Server
//       with trusted_curve accepting PSEUD_PLUGIN_CLIENT_KEY, the line of
//       PluginHandshake::line()): --raw behaves; --ignore-shutdown answers
//       pseud.plugin.shutdown "ok" and keeps running (SIGTERM kills it);
//       --ignore-term does the same and ignores SIGTERM too (only SIGKILL ends
//       it). --on-stdout writes the handshake line to standard output, as
//       go-plugin's plugins do, instead of PSEUD_PLUGIN_HANDSHAKE_FD;
//   test_plugin --handshake-line TEXT [--on-stdout]
//       writes TEXT as its handshake line (nothing at all when TEXT is empty),
//       then waits to be killed;
//   test_plugin --exit-before-handshake CODE
//       says so on standard error and exits CODE;
//   test_plugin --as-host PLUGIN_PATH
//       a host: starts PLUGIN_PATH as a PluginProcess, prints the plugin's pid
//       on standard output, and closes it when its standard input ends (a
//       test SIGKILLs it instead, to see the plugin go with it).
//
// Functions, every version: echo(text), pid(), sleep_ms(n) (blocking: a
// worker thread), spawn_grandchild() (/bin/sleep in the plugin's process
// group; returns its pid), served_version(), start_fds() (the descriptors open
// when main() began), stdin_path() (where descriptor 0 led then),
// process_group(). Version 2 and later add version_two().
//
// The modes that wait (all but the serve_plugin one, which has its own) also
// leave when their parent is gone, checked every 200 ms, so that a test that
// dies leaves none of them behind.

#include <dirent.h>
#include <signal.h>
#include <spawn.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "pseud/pseud.hpp"
#include "pseud/plugin_host.hpp"
#include "pseud/plugin_protocol.hpp"
#include "pseud/plugin_serve.hpp"

#include "test_plugin_cookie.hpp"

extern char** environ;

namespace {

using namespace std::chrono_literals;

const pseud::PluginCookie& cookie = pseud::test::test_plugin_cookie;

struct Options {
  std::vector<int> versions{1, 2};
  bool noise = false;
  enum class Raw { no, behaves, ignore_shutdown, ignore_term, handshake_line } raw = Raw::no;
  std::string handshake_line;
  bool on_stdout = false;
  int exit_before_handshake = -1;
  std::string host_of;  // --as-host PLUGIN_PATH
};

// What the process had open when main() began, and where stdin led.
struct AtStart {
  std::vector<int> fds;
  std::string stdin_path;
};

AtStart at_start() {
  AtStart seen;
  if (DIR* dir = ::opendir("/proc/self/fd")) {
    while (const dirent* entry = ::readdir(dir)) {
      if (entry->d_name[0] == '.') continue;
      const int fd = std::atoi(entry->d_name);
      if (fd != ::dirfd(dir)) seen.fds.push_back(fd);
    }
    ::closedir(dir);
  }
  char target[4096];
  const ssize_t n = ::readlink("/proc/self/fd/0", target, sizeof target - 1);
  if (n > 0) seen.stdin_path.assign(target, static_cast<std::size_t>(n));
  return seen;
}

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr, "test_plugin: %s\n", why.c_str());
  std::exit(2);
}

Options parse_arguments(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--versions") {
      try {
        options.versions = pseud::parse_plugin_versions(value(), "--versions");
      } catch (const std::exception& e) {
        usage(e.what());
      }
    } else if (arg == "--noise") {
      options.noise = true;
    } else if (arg == "--raw") {
      options.raw = Options::Raw::behaves;
    } else if (arg == "--ignore-shutdown") {
      options.raw = Options::Raw::ignore_shutdown;
    } else if (arg == "--ignore-term") {
      options.raw = Options::Raw::ignore_term;
    } else if (arg == "--handshake-line") {
      options.raw = Options::Raw::handshake_line;
      options.handshake_line = value();
    } else if (arg == "--on-stdout") {
      options.on_stdout = true;
    } else if (arg == "--exit-before-handshake") {
      options.exit_before_handshake = std::atoi(value().c_str());
    } else if (arg == "--as-host") {
      options.host_of = value();
    } else {
      usage("unknown argument " + arg);
    }
  }
  return options;
}

// ---- the functions ------------------------------------------------------------------

// The functions every version serves, and one layer per version on top of them.
struct Functions {
  Functions(const std::vector<int>& versions, const AtStart& start) {
    common.register_rpc("echo", [](const std::string& text) { return text; });
    common.register_rpc("pid", [] { return static_cast<int>(::getpid()); });
    common.register_rpc(
        "sleep_ms",
        [](int ms) {
          std::this_thread::sleep_for(std::chrono::milliseconds(ms));  // the work itself
          return ms;
        },
        {.blocking = true});
    common.register_rpc("spawn_grandchild", [] {
      // In the plugin's own process group, with its standard output and
      // error: what the host must still clean up after the plugin.
      pid_t child = -1;
      char sleep_path[] = "/bin/sleep";
      char seconds[] = "100000";
      char* child_argv[] = {sleep_path, seconds, nullptr};
      const int error = ::posix_spawn(&child, sleep_path, nullptr, nullptr, child_argv, environ);
      if (error != 0) throw std::runtime_error(std::string("posix_spawn /bin/sleep: ") + std::strerror(error));
      return static_cast<int>(child);
    });
    common.register_rpc("start_fds", [fds = start.fds] { return fds; });
    common.register_rpc("stdin_path", [path = start.stdin_path] { return path; });
    common.register_rpc("process_group", [] { return static_cast<int>(::getpgrp()); });
    for (const int version : versions) {
      auto& layer = *layers.emplace_back(std::make_unique<pseud::Registry>(&common));
      layer.register_rpc("served_version", [version] { return version; });
      if (version >= 2) layer.register_rpc("version_two", [] { return std::string("two"); });
      served.emplace_back(version, layer);
    }
  }

  const pseud::Registry& of(int version) const {
    for (const auto& entry : served) {
      if (entry.version == version) return *entry.registry;
    }
    return common;
  }

  pseud::Registry common;
  std::vector<std::unique_ptr<pseud::Registry>> layers;
  std::vector<pseud::PluginVersion> served;
};

// ---- by hand --------------------------------------------------------------------------------

bool write_all(int fd, const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

int refuse(const std::string& why) {
  std::fprintf(stderr, "test_plugin: %s\n", why.c_str());
  return 1;
}

std::string environment(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

// Waits until `done` holds (when given) or the parent that started it is gone.
void wait_while_parent(pid_t parent, std::mutex& mutex, std::condition_variable& changed, const bool* done) {
  std::unique_lock lock(mutex);
  while (!(done && *done)) {
    if (::getppid() != parent) {
      std::fprintf(stderr, "test_plugin: the parent %d is gone\n", static_cast<int>(parent));
      std::_Exit(0);
    }
    changed.wait_for(lock, 200ms);
  }
}

int serve_by_hand(const Options& options, const Functions& functions, pid_t parent) {
  if (options.raw == Options::Raw::ignore_term) ::signal(SIGTERM, SIG_IGN);
  if (environment(cookie.key.c_str()) != cookie.value) {
    return refuse("a plugin for plugin_process_test, started by its host (no " + cookie.key + ")");
  }
  int version = 0;
  try {
    const auto host = pseud::parse_plugin_versions(environment(pseud::plugin_env::versions), pseud::plugin_env::versions);
    const auto common = pseud::highest_common_version(host, options.versions);
    if (!common) return refuse("no protocol version in common");
    version = *common;
  } catch (const std::exception& e) {
    return refuse(e.what());
  }
  int handshake_fd = 1;
  if (!options.on_stdout && !environment(pseud::plugin_env::handshake_fd).empty()) {
    handshake_fd = std::atoi(environment(pseud::plugin_env::handshake_fd).c_str());
  }
  std::mutex mutex;
  std::condition_variable changed;

  if (options.raw == Options::Raw::handshake_line) {
    if (!options.handshake_line.empty() && !write_all(handshake_fd, options.handshake_line + "\n")) {
      return refuse("cannot write the handshake line");
    }
    wait_while_parent(parent, mutex, changed, nullptr);  // until killed
    return 0;
  }

  const std::string client_key = environment(pseud::plugin_env::client_key);
  if (client_key.empty()) return refuse("no client key");
  const pseud::CurveKeyPair keys = pseud::generate_curve_keypair();
  pseud::PeerOptions server_options;
  server_options.auth = {"trusted_curve",
                         {{"secret_key", keys.secret_key}, {"public_key", keys.public_key}, {"trust", "host=" + client_key}}};
  server_options.parent_registry = &functions.of(version);
  pseud::Server server(std::string(pseud::plugin_server_name), server_options);
  bool shutdown_asked = false;
  server.register_rpc(std::string(pseud::plugin_shutdown_function), [&] {
    if (options.raw == Options::Raw::behaves) {
      std::lock_guard lock(mutex);
      shutdown_asked = true;
      changed.notify_all();
    } else {
      std::fprintf(stderr, "test_plugin: shutdown asked, and ignored\n");
    }
    return std::string("ok");
  });

  // The host's first transport that can be had: unix in the directory it made, or tcp.
  pseud::PluginHandshake handshake;
  handshake.version = version;
  handshake.server_key = keys.public_key;
  const std::string transports = environment(pseud::plugin_env::transports);
  const std::string socket_dir = environment(pseud::plugin_env::socket_dir);
  if (transports.rfind("unix", 0) == 0 && !socket_dir.empty()) {
    handshake.transport = pseud::PluginTransport::unix_socket;
    handshake.address = socket_dir + "/plugin.sock";
    server.bind("ipc://" + handshake.address);
  } else {
    handshake.transport = pseud::PluginTransport::tcp;
    const std::string bound = server.bind("tcp://127.0.0.1:*");
    handshake.address = bound.substr(bound.find("://") + 3);
  }
  if (!write_all(handshake_fd, handshake.line() + "\n")) return refuse("cannot write the handshake line");
  if (handshake_fd > 2) ::close(handshake_fd);

  if (options.raw == Options::Raw::behaves) {
    wait_while_parent(parent, mutex, changed, &shutdown_asked);
    server.stop(1000ms);  // the shutdown's "ok" leaves first
    return 0;
  }
  wait_while_parent(parent, mutex, changed, nullptr);  // until SIGTERM (or, ignoring it, SIGKILL)
  return 0;
}

// ---- a host to SIGKILL ------------------------------------------------------------------------

int host(const std::string& plugin_path) {
  try {
    pseud::PluginLaunch launch;
    launch.argv = {plugin_path};
    launch.cookie = cookie;
    launch.versions = {1, 2};
    pseud::PluginProcess plugin(std::move(launch));
    std::printf("%d\n", static_cast<int>(plugin.pid()));
    std::fflush(stdout);
    char chunk[256];
    while (true) {
      const ssize_t n = ::read(0, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
    }
    const pseud::PluginExit exit = plugin.close();
    return exit.exited && exit.code == 0 ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "test_plugin --as-host: %s\n", e.what());
    return 3;
  }
}

}  // namespace

int main(int argc, char** argv) {
  const AtStart start = at_start();
  const pid_t parent = ::getppid();
  const Options options = parse_arguments(argc, argv);
  if (options.exit_before_handshake >= 0) {
    std::fprintf(stderr, "test_plugin: leaving before the handshake, exit status %d\n", options.exit_before_handshake);
    return options.exit_before_handshake;
  }
  if (!options.host_of.empty()) return host(options.host_of);
  if (options.noise) {
    std::printf("test_plugin: noise on stdout\n");
    std::fflush(stdout);
    std::fprintf(stderr, "test_plugin: noise on stderr\n");
  }
  const Functions functions(options.versions, start);
  if (options.raw != Options::Raw::no) return serve_by_hand(options, functions, parent);
  return pseud::serve_plugin(cookie, functions.served);
}
