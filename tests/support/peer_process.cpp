// peer_process: a pseud::Client in a process of its own, for tests that must
// freeze (SIGSTOP) or kill (SIGKILL) a peer, which a thread cannot stand in for.
//
//   peer_process ENDPOINT [--heartbeat noop|liveness] [--interval-ms N] [--liveness L]
//                         [--routing-id ID] [--serve-blocking-seconds S]
//
// Connects to the server named "server" at ENDPOINT and serves:
//   echo(x)          -> x
//   sleep(seconds)   -> seconds; runs on the worker pool (blocking) and writes
//                       "sleeping\n" on stdout when it starts. It sleeps at most
//                       S seconds (--serve-blocking-seconds, default 60) and
//                       returns early when the process is told to exit.
// Calls the server's `ping` once (so the connection is up and accepted), then
// writes "ready\n" on stdout and waits until stdin is closed (or a signal ends
// it). It never lives longer than 120 s (alarm), and dies with its parent.
// Diagnostics go to stderr. Exit status: 0 after stdin closed, 1 on a bad
// command line, 2 when the connection could not be made.

#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <string>
#include <string_view>

#include "pseud/pseud.hpp"

namespace {

using namespace std::chrono_literals;

constexpr unsigned hard_limit_seconds = 120;

void write_line(std::string_view text) {
  std::string line(text);
  line += '\n';
  // One write(2) per line: lines from several threads never interleave.
  std::size_t done = 0;
  while (done < line.size()) {
    const ssize_t n = ::write(STDOUT_FILENO, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    done += static_cast<std::size_t>(n);
  }
}

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "peer_process: %s\n"
               "usage: peer_process ENDPOINT [--heartbeat noop|liveness] [--interval-ms N] [--liveness L]\n"
               "                    [--routing-id ID] [--serve-blocking-seconds S]\n",
               why);
  std::exit(1);
}

long whole_number(const char* text, const char* option) {
  char* end = nullptr;
  errno = 0;
  const long value = std::strtol(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || value < 0) {
    std::fprintf(stderr, "peer_process: %s needs a whole number, not '%s'\n", option, text);
    std::exit(1);
  }
  return value;
}

// Lets blocking handlers end early when the process is told to exit.
struct Shutdown {
  std::mutex mutex;
  std::condition_variable changed;
  bool requested = false;

  void request() {
    {
      std::lock_guard lock(mutex);
      requested = true;
    }
    changed.notify_all();
  }
  // Waits `limit`, or less if shutdown is requested.
  void wait(std::chrono::duration<double> limit) {
    std::unique_lock lock(mutex);
    changed.wait_for(lock, limit, [this] { return requested; });
  }
};

}  // namespace

int main(int argc, char** argv) {
  // Never outlive the test that started us, nor a hung run.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() == 1) return 3;  // the parent died before prctl took effect
  ::alarm(hard_limit_seconds);
  ::signal(SIGPIPE, SIG_IGN);

  if (argc < 2 || argv[1][0] == '-') usage("the first argument must be the server's endpoint");
  const std::string endpoint = argv[1];
  std::string heartbeat = "liveness";
  long interval_ms = 100;
  long liveness = 3;
  std::string routing_id;
  long serve_blocking_seconds = 60;
  for (int i = 2; i < argc; ++i) {
    const std::string_view option = argv[i];
    if (i + 1 >= argc) usage("an option is missing its value");
    const char* value = argv[++i];
    if (option == "--heartbeat") {
      heartbeat = value;
      if (heartbeat != "noop" && heartbeat != "liveness") usage("--heartbeat must be noop or liveness");
    } else if (option == "--interval-ms") {
      interval_ms = whole_number(value, "--interval-ms");
    } else if (option == "--liveness") {
      liveness = whole_number(value, "--liveness");
    } else if (option == "--routing-id") {
      routing_id = value;
    } else if (option == "--serve-blocking-seconds") {
      serve_blocking_seconds = whole_number(value, "--serve-blocking-seconds");
    } else {
      usage("unknown option");
    }
  }

  Shutdown shutdown;
  try {
    pseud::PeerOptions options;
    options.heartbeat = {heartbeat,
                         {{"interval_ms", std::to_string(interval_ms)}, {"liveness", std::to_string(liveness)}}};
    options.routing_id = routing_id;
    options.on_peer_gone = [](const pseud::PeerInfo& peer, const std::string& reason) {
      std::fprintf(stderr, "peer_process: peer '%s' gone: %s\n", peer.routing_id.c_str(), reason.c_str());
    };
    pseud::Client client("server", options);
    client.register_rpc("echo", [](const pseud::Args& args) -> msgpack::object {
      if (args.size() != 1) {
        throw pseud::RemoteError("TypeError", "echo() takes exactly one argument (" + std::to_string(args.size()) +
                                                  " given)");
      }
      return args[0];
    });
    const double cap = static_cast<double>(serve_blocking_seconds);
    client.register_rpc(
        "sleep",
        [&shutdown, cap](double seconds) {
          write_line("sleeping");
          shutdown.wait(std::chrono::duration<double>(std::clamp(seconds, 0.0, cap)));
          return seconds;
        },
        {.blocking = true});
    client.connect(endpoint);
    try {
      client.call("ping", pseud::CallOptions{.timeout = 5000ms});
    } catch (const std::exception& e) {
      std::fprintf(stderr, "peer_process: ping to 'server' at %s failed: %s\n", endpoint.c_str(), e.what());
      return 2;
    }
    write_line("ready");

    char buffer[256];
    while (true) {
      const ssize_t n = ::read(STDIN_FILENO, buffer, sizeof buffer);
      if (n == 0) break;                   // stdin closed: time to go
      if (n < 0 && errno != EINTR) break;  // no usable stdin: go too
    }
    shutdown.request();
    client.stop();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "peer_process: %s\n", e.what());
    shutdown.request();
    return 2;
  }
  return 0;
}
