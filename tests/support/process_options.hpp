#pragma once
// What peer_process and server_process share: the guard that keeps them from
// outliving their test, their common command-line options and the PeerOptions
// built from them, line output on stdout, and the echo and sleep handlers.

#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>

#include "pseud/pseud.hpp"

namespace pseud::test {

// The program: its name (the prefix of every diagnostic) and its usage text.
struct ProgramInfo {
  const char* name;
  const char* usage;
};

// Never outlive the test that started us, nor a hung run: dies with its parent,
// lives at most `hard_limit_seconds`, and ignores SIGPIPE. False when the parent
// died before this took effect (the program should then exit with status 3).
inline bool guard_process(unsigned hard_limit_seconds = 120) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() == 1) return false;
  ::alarm(hard_limit_seconds);
  ::signal(SIGPIPE, SIG_IGN);
  return true;
}

inline void write_line(std::string_view text) {
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

[[noreturn]] inline void usage(const ProgramInfo& program, const char* why) {
  std::fprintf(stderr, "%s: %s\n%s", program.name, why, program.usage);
  std::exit(1);
}

inline long whole_number(const ProgramInfo& program, const char* text, const char* option) {
  char* end = nullptr;
  errno = 0;
  const long value = std::strtol(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || value < 0) {
    std::fprintf(stderr, "%s: %s needs a whole number, not '%s'\n", program.name, option, text);
    std::exit(1);
  }
  return value;
}

// The options both programs take.
struct ProcessOptions {
  std::string heartbeat = "liveness";
  long interval_ms = 100;
  long liveness = 3;
  long serve_blocking_seconds = 60;
};

// Parses argv[first..] as "--option value" pairs: the common options, and
// whatever `extra` accepts (it returns false for an option it does not know).
// A bad command line ends the program with usage() (exit status 1).
inline ProcessOptions parse_process_options(const ProgramInfo& program, int argc, char** argv, int first,
                                            const std::function<bool(std::string_view, const char*)>& extra) {
  ProcessOptions options;
  for (int i = first; i < argc; ++i) {
    const std::string_view option = argv[i];
    if (i + 1 >= argc) usage(program, "an option is missing its value");
    const char* value = argv[++i];
    if (option == "--heartbeat") {
      options.heartbeat = value;
      if (options.heartbeat != "noop" && options.heartbeat != "liveness") {
        usage(program, "--heartbeat must be noop or liveness");
      }
    } else if (option == "--interval-ms") {
      options.interval_ms = whole_number(program, value, "--interval-ms");
    } else if (option == "--liveness") {
      options.liveness = whole_number(program, value, "--liveness");
    } else if (option == "--serve-blocking-seconds") {
      options.serve_blocking_seconds = whole_number(program, value, "--serve-blocking-seconds");
    } else if (!extra(option, value)) {
      usage(program, "unknown option");
    }
  }
  return options;
}

// PeerOptions with the heartbeat backend and settings of `options`.
inline pseud::PeerOptions peer_options(const ProcessOptions& options) {
  pseud::PeerOptions peer;
  peer.heartbeat.name = options.heartbeat;
  // Only "liveness" takes these: a backend refuses settings it does not know.
  if (options.heartbeat == "liveness") {
    peer.heartbeat.settings = {{"interval_ms", std::to_string(options.interval_ms)},
                               {"liveness", std::to_string(options.liveness)}};
  }
  return peer;
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

// echo(x) -> x
inline auto echo_handler() {
  return [](const pseud::Args& args) -> msgpack::object {
    if (args.size() != 1) {
      throw pseud::RemoteError("TypeError", "echo() takes exactly one argument (" + std::to_string(args.size()) +
                                                " given)");
    }
    return args[0];
  };
}

// sleep(seconds) -> seconds: writes "sleeping" on stdout, then sleeps at most
// `cap_seconds`, returning early when `shutdown` is requested. Register it blocking.
inline auto sleep_handler(Shutdown& shutdown, long cap_seconds) {
  const double cap = static_cast<double>(cap_seconds);
  return [&shutdown, cap](double seconds) {
    write_line("sleeping");
    shutdown.wait(std::chrono::duration<double>(std::clamp(seconds, 0.0, cap)));
    return seconds;
  };
}

// Returns when stdin is closed (or unusable).
inline void wait_for_stdin_to_close() {
  char buffer[256];
  while (true) {
    const ssize_t n = ::read(STDIN_FILENO, buffer, sizeof buffer);
    if (n == 0) break;                   // stdin closed: time to go
    if (n < 0 && errno != EINTR) break;  // no usable stdin: go too
  }
}

}  // namespace pseud::test
