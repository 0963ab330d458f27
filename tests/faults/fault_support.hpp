#pragma once
// What the fault tests share: the counts they run (CI or full soak), figures
// on stdout, descriptor and memory readings from /proc, the fault_peer helper
// program, bounded external commands, and the outcome of one asynchronous call.

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "child_process.hpp"
#include "fault_errors.hpp"
#include "pseud/pseud.hpp"

extern char** environ;

namespace pseud::faults {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// ---- the counts under test ---------------------------------------------------------

// Full counts: built with -Dsoak=true, or PSEUD_SOAK=1 in the environment.
inline bool soak() {
#if defined(PSEUD_FAULTS_SOAK)
  return true;
#else
  const char* value = std::getenv("PSEUD_SOAK");
  return value && std::string(value) == "1";
#endif
}

// Sanitizers or -O0 make every call several times slower: CI then runs smaller counts.
inline bool slow_build() {
#if defined(PSEUD_FAULTS_SLOW_BUILD)
  return true;
#else
  return false;
#endif
}

// ThreadSanitizer slows calls down some 50-fold (100 times AddressSanitizer's
// cost here): its counts are smaller still, and latency bounds are scaled.
inline constexpr bool thread_sanitizer() {
#if defined(__SANITIZE_THREAD__)
  return true;
#else
  return false;
#endif
}

// AddressSanitizer keeps freed memory in quarantine (256 MiB by default) and
// ThreadSanitizer shadows every byte: there RSS and heap figures are
// reported, not asserted.
inline constexpr bool sanitized() {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  return true;
#else
  return false;
#endif
}

inline const char* build_kind() {
#if defined(PSEUD_FAULTS_BUILD_KIND)
  return PSEUD_FAULTS_BUILD_KIND;
#else
  return "unknown";
#endif
}

// The count a test runs: `full` in a soak, else `ci` in an optimised build,
// `ci_slow` under a sanitizer or at -O0, and `ci_thread` (default: ci_slow)
// under ThreadSanitizer.
inline long count(long full, long ci, long ci_slow, long ci_thread = -1) {
  if (soak()) return full;
  if (thread_sanitizer() && ci_thread >= 0) return ci_thread;
  return slow_build() ? ci_slow : ci;
}

inline const char* count_kind() {
  return soak() ? "full (soak)" : thread_sanitizer() ? "CI, ThreadSanitizer" : slow_build() ? "CI, slow build" : "CI";
}

// Latency bounds are multiplied by this: 3 under ThreadSanitizer, else 1.
inline int latency_factor() { return thread_sanitizer() ? 3 : 1; }

// ", x3 under ThreadSanitizer" where latency bounds are scaled, else "".
inline const char* latency_note() { return thread_sanitizer() ? ", x3 under ThreadSanitizer" : ""; }

// ---- figures -------------------------------------------------------------------------

// One line "[figure] ..." on stdout (what the lead quotes), and the same text in the XML report.
inline void figure(const char* format, ...) __attribute__((format(printf, 1, 2)));
inline void figure(const char* format, ...) {
  char text[1024];
  va_list args;
  va_start(args, format);
  std::vsnprintf(text, sizeof text, format, args);
  va_end(args);
  std::printf("[figure] %s\n", text);
  std::fflush(stdout);
  static int counter = 0;
  ::testing::Test::RecordProperty("figure_" + std::to_string(++counter), text);
}

inline double ms_between(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

// ---- /proc readings --------------------------------------------------------------------

// Open file descriptors of this process (the directory's own descriptor not counted).
inline int open_fds() {
  DIR* dir = ::opendir("/proc/self/fd");
  if (!dir) return -1;
  int n = 0;
  while (const dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] != '.') ++n;
  }
  ::closedir(dir);
  return n - 1;
}

// A field of a /proc/<pid>/status file in KiB ("VmRSS:", "VmHWM:"), or -1.
inline long status_file_kib(const std::string& path, const std::string& field) {
  std::ifstream status(path);
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(field, 0) == 0) return std::strtol(line.c_str() + field.size(), nullptr, 10);
  }
  return -1;
}

// ... of this process, and of process `pid`.
inline long status_kib(const std::string& field) { return status_file_kib("/proc/self/status", field); }
inline long status_kib_of(pid_t pid, const std::string& field) {
  return status_file_kib("/proc/" + std::to_string(pid) + "/status", field);
}

inline long rss_kib() { return status_kib("VmRSS:"); }

// Threads of this process.
inline long thread_count() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("Threads:", 0) == 0) return std::strtol(line.c_str() + 8, nullptr, 10);
  }
  return -1;
}

// ---- the helper program ----------------------------------------------------------------

// A helper program: from the environment variable `variable`, else next to this test binary.
inline std::string helper_path(const char* variable, const char* name) {
  if (const char* path = std::getenv(variable); path && *path) return path;
  char self[4096];
  const ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return name;
  std::string dir(self, static_cast<std::size_t>(n));
  return dir.substr(0, dir.rfind('/') + 1) + name;
}

inline std::string fault_peer_path() { return helper_path("PSEUD_FAULT_PEER", "fault_peer"); }

inline const test::ChildProcessOptions fault_peer_options{
    .ignore_sigpipe = true, .spawn_hint = " (build tests/faults/fault_peer; see tests/faults/meson.build)"};

// Reads lines from `child` until one starts with `prefix` (others are kept in
// `skipped` when given); the line, or nullopt after `limit` or at EOF.
inline std::optional<std::string> read_until(test::ChildProcess& child, const std::string& prefix,
                                             std::chrono::milliseconds limit,
                                             std::vector<std::string>* skipped = nullptr) {
  const auto until = Clock::now() + limit;
  while (true) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(until - Clock::now());
    if (left.count() <= 0) return std::nullopt;
    auto line = child.read_line(left);
    if (!line) return std::nullopt;
    if (line->rfind(prefix, 0) == 0) return line;
    if (skipped) skipped->push_back(*line);
  }
}

// ---- external commands ------------------------------------------------------------------

struct CommandResult {
  int status = -1;     // exit status; -1 when it could not run, timed out or died of a signal
  std::string output;  // stdout and stderr together
  double ms = 0;       // how long it took
};

// Runs argv[0] (found on PATH) with a bounded wait; on timeout it is killed.
inline CommandResult run_command(const std::vector<std::string>& argv, std::chrono::milliseconds limit = 10000ms) {
  CommandResult result;
  const auto started = Clock::now();
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) {
    result.output = std::string("pipe2: ") + std::strerror(errno);
    return result;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDERR_FILENO);
  std::vector<std::string> text(argv);
  std::vector<char*> args;
  for (auto& arg : text) args.push_back(arg.data());
  args.push_back(nullptr);
  pid_t pid = -1;
  const int error = ::posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(out[1]);
  if (error != 0) {
    ::close(out[0]);
    result.output = "cannot run " + argv[0] + ": " + std::strerror(error);
    return result;
  }
  ::fcntl(out[0], F_SETFL, ::fcntl(out[0], F_GETFL) | O_NONBLOCK);
  const auto until = started + limit;
  bool timed_out = false;
  int status = 0;
  while (true) {
    char chunk[4096];
    ssize_t n;
    while ((n = ::read(out[0], chunk, sizeof chunk)) > 0) result.output.append(chunk, static_cast<std::size_t>(n));
    const pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (Clock::now() > until) {
      timed_out = true;
      ::kill(pid, SIGKILL);
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      break;
    }
    std::this_thread::sleep_for(1ms);  // polling step
  }
  char chunk[4096];
  ssize_t n;
  while ((n = ::read(out[0], chunk, sizeof chunk)) > 0) result.output.append(chunk, static_cast<std::size_t>(n));
  ::close(out[0]);
  result.ms = ms_between(started, Clock::now());
  if (timed_out) {
    result.output += " (timed out after " + std::to_string(limit.count()) + " ms)";
  } else if (WIFEXITED(status)) {
    result.status = WEXITSTATUS(status);
  }
  return result;
}

// ---- the outcome of one asynchronous call ------------------------------------------------

// Completions of many asynchronous calls: when each ended and how. Shared
// with the callbacks, which may outlive the test's locals.
class Outcomes {
 public:
  struct Outcome {
    Clock::time_point at;
    std::exception_ptr error;
  };

  template <class R>
  auto callback() {
    return [state = state_](Result<R> result) {
      const auto now = Clock::now();
      {
        std::lock_guard lock(state->mutex);
        state->done.push_back(Outcome{now, result.error()});
      }
      state->changed.notify_all();
    };
  }
  std::size_t size() const {
    std::lock_guard lock(state_->mutex);
    return state_->done.size();
  }
  // Waits until `n` calls have completed; false after `limit`.
  bool wait(std::size_t n, std::chrono::milliseconds limit) {
    std::unique_lock lock(state_->mutex);
    return state_->changed.wait_for(lock, limit, [&] { return state_->done.size() >= n; });
  }
  std::vector<Outcome> all() const {
    std::lock_guard lock(state_->mutex);
    return state_->done;
  }

 private:
  struct State {
    std::mutex mutex;
    std::condition_variable changed;
    std::vector<Outcome> done;
  };
  std::shared_ptr<State> state_ = std::make_shared<State>();
};

}  // namespace pseud::faults
