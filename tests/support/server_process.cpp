// server_process: a pseud::Server named "server" in a process of its own, for
// tests that must freeze (SIGSTOP) or kill (SIGKILL) a client's server.
//
//   server_process [--heartbeat noop|liveness] [--interval-ms N] [--liveness L]
//                  [--endpoint E] [--serve-blocking-seconds S]
//
// Binds E (default tcp://127.0.0.1:*) and writes the bound endpoint as its
// first stdout line. Serves:
//   ping()           -> "pong"
//   echo(x)          -> x
//   sleep(seconds)   -> seconds; runs on the worker pool (blocking) and writes
//                       "sleeping\n" on stdout when it starts. It sleeps at most
//                       S seconds (default 60) and returns early when the
//                       process is told to exit.
// Then waits until stdin is closed (or a signal ends it). It never lives
// longer than 120 s (alarm), and dies with its parent. Exit status: 0 after
// stdin closed, 1 on a bad command line, 2 when it cannot serve.

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

constexpr unsigned hard_limit_seconds = 120;

void write_line(std::string_view text) {
  std::string line(text);
  line += '\n';
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
               "server_process: %s\n"
               "usage: server_process [--heartbeat noop|liveness] [--interval-ms N] [--liveness L]\n"
               "                      [--endpoint E] [--serve-blocking-seconds S]\n",
               why);
  std::exit(1);
}

long whole_number(const char* text, const char* option) {
  char* end = nullptr;
  errno = 0;
  const long value = std::strtol(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || value < 0) {
    std::fprintf(stderr, "server_process: %s needs a whole number, not '%s'\n", option, text);
    std::exit(1);
  }
  return value;
}

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
  void wait(std::chrono::duration<double> limit) {
    std::unique_lock lock(mutex);
    changed.wait_for(lock, limit, [this] { return requested; });
  }
};

}  // namespace

int main(int argc, char** argv) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() == 1) return 3;
  ::alarm(hard_limit_seconds);
  ::signal(SIGPIPE, SIG_IGN);

  std::string heartbeat = "liveness";
  long interval_ms = 100;
  long liveness = 3;
  std::string endpoint = "tcp://127.0.0.1:*";
  long serve_blocking_seconds = 60;
  for (int i = 1; i < argc; ++i) {
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
    } else if (option == "--endpoint") {
      endpoint = value;
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
    options.on_peer_gone = [](const pseud::PeerInfo& peer, const std::string& reason) {
      std::fprintf(stderr, "server_process: peer gone (%zu-byte routing id): %s\n", peer.routing_id.size(),
                   reason.c_str());
    };
    pseud::Server server("server", options);
    server.register_rpc("ping", [] { return std::string("pong"); });
    server.register_rpc("echo", [](const pseud::Args& args) -> msgpack::object {
      if (args.size() != 1) {
        throw pseud::RemoteError("TypeError", "echo() takes exactly one argument (" + std::to_string(args.size()) +
                                                  " given)");
      }
      return args[0];
    });
    const double cap = static_cast<double>(serve_blocking_seconds);
    server.register_rpc(
        "sleep",
        [&shutdown, cap](double seconds) {
          write_line("sleeping");
          shutdown.wait(std::chrono::duration<double>(std::clamp(seconds, 0.0, cap)));
          return seconds;
        },
        {.blocking = true});
    write_line(server.bind(endpoint));

    char buffer[256];
    while (true) {
      const ssize_t n = ::read(STDIN_FILENO, buffer, sizeof buffer);
      if (n == 0) break;
      if (n < 0 && errno != EINTR) break;
    }
    shutdown.request();
    server.stop();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "server_process: %s\n", e.what());
    shutdown.request();
    return 2;
  }
  return 0;
}
