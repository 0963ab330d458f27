#pragma once
// A spawned program for tests that drive a process of their own: pipes to its
// stdin and from its stdout, bounded line reads, signals, and a destructor that
// SIGKILLs and reaps it, so no test can leave one behind.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

extern char** environ;

namespace pseud::test {

struct ChildProcessOptions {
  // stderr to /dev/null; otherwise it is inherited (a child's diagnostics show in the test log).
  bool quiet_stderr = false;
  // Ignore SIGPIPE in this process (once, before the first such spawn), so that
  // write() to a dead child fails with EPIPE instead of killing the test.
  bool ignore_sigpipe = false;
  // Appended to the message of the exception thrown when the spawn fails.
  std::string spawn_hint;
};

// The absolute path of `program` on PATH, or else in /usr/sbin or /sbin
// (posix_spawn and execv need one), or "" when it is nowhere.
inline std::string program_on_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/sbin:/usr/bin:/sbin:/bin";
  dirs += ":/usr/sbin:/sbin";
  std::size_t start = 0;
  while (start <= dirs.size()) {
    const std::size_t end = std::min(dirs.find(':', start), dirs.size());
    const std::string candidate = dirs.substr(start, end - start) + "/" + program;
    if (end > start && ::access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return {};
}

// A spawned program with pipes to its stdin and from its stdout. The
// destructor SIGKILLs and reaps it.
class ChildProcess {
 public:
  using Clock = std::chrono::steady_clock;

  ChildProcess(const std::string& path, const std::vector<std::string>& args,
               const ChildProcessOptions& options = {}) {
    if (options.ignore_sigpipe) {
      static std::once_flag sigpipe_once;
      std::call_once(sigpipe_once, [] { ::signal(SIGPIPE, SIG_IGN); });  // a dead child: EPIPE, not death
    }
    int in[2];
    int out[2];
    if (::pipe2(in, O_CLOEXEC) != 0) throw std::runtime_error("pipe2: " + std::string(std::strerror(errno)));
    if (::pipe2(out, O_CLOEXEC) != 0) {
      ::close(in[0]);
      ::close(in[1]);
      throw std::runtime_error("pipe2: " + std::string(std::strerror(errno)));
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in[0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    if (options.quiet_stderr) posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
    std::vector<std::string> argv_text{path};
    argv_text.insert(argv_text.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& arg : argv_text) argv.push_back(arg.data());
    argv.push_back(nullptr);
    const int error = ::posix_spawn(&pid_, path.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(in[0]);
    ::close(out[1]);
    stdin_ = in[1];
    stdout_ = out[0];
    ::fcntl(stdin_, F_SETFL, ::fcntl(stdin_, F_GETFL) | O_NONBLOCK);  // write() is bounded
    if (error != 0) {
      pid_ = -1;
      close_fds();
      throw std::runtime_error("cannot spawn " + path + ": " + std::strerror(error) + options.spawn_hint);
    }
  }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess() {
    kill_and_reap();
    close_fds();
  }

  pid_t pid() const noexcept { return pid_; }

  void signal(int number) {
    ASSERT_GT(pid_, 0) << "the child was already reaped";
    ASSERT_EQ(::kill(pid_, number), 0) << std::strerror(errno);
  }

  // Writes all of `text` to its stdin within `limit`; false if it could not.
  bool write(std::string_view text, std::chrono::milliseconds limit) {
    const auto until = Clock::now() + limit;
    while (!text.empty()) {
      if (stdin_ < 0) return false;
      const ssize_t n = ::write(stdin_, text.data(), text.size());
      if (n > 0) {
        text.remove_prefix(static_cast<std::size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno != EAGAIN) return false;
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(until - Clock::now()).count();
      if (left <= 0) return false;
      pollfd item{stdin_, POLLOUT, 0};
      if (::poll(&item, 1, static_cast<int>(left)) < 0 && errno != EINTR) return false;
    }
    return true;
  }

  void close_stdin() {
    if (stdin_ >= 0) ::close(stdin_);
    stdin_ = -1;
  }

  // The next line of its stdout (without the newline), or nullopt after `limit` or at EOF.
  std::optional<std::string> read_line(std::chrono::milliseconds limit) {
    const auto until = Clock::now() + limit;
    while (true) {
      if (const auto end = buffer_.find('\n'); end != std::string::npos) {
        std::string line = buffer_.substr(0, end);
        buffer_.erase(0, end + 1);
        return line;
      }
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(until - Clock::now()).count();
      if (left <= 0 || stdout_ < 0) return std::nullopt;
      pollfd item{stdout_, POLLIN, 0};
      const int ready = ::poll(&item, 1, static_cast<int>(left));
      if (ready < 0 && errno == EINTR) continue;
      if (ready <= 0) return std::nullopt;
      char chunk[4096];
      const ssize_t n = ::read(stdout_, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR) continue;
      if (n == 0) at_end_ = true;
      if (n <= 0) return std::nullopt;
      buffer_.append(chunk, static_cast<std::size_t>(n));
    }
  }

  // True once a read_line() found its stdout closed (the child exited, or closed it).
  bool at_end() const noexcept { return at_end_; }

  // Waits (at most `limit`) for it to exit by itself and reaps it: its exit
  // status, or -1 when it died of a signal; nullopt when it still runs (then
  // it is left running) or was reaped already.
  std::optional<int> wait_for_exit(std::chrono::milliseconds limit) {
    if (pid_ <= 0) return std::nullopt;
    const auto until = Clock::now() + limit;
    while (true) {
      int status = 0;
      const pid_t done = ::waitpid(pid_, &status, WNOHANG);
      if (done == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      if (done < 0 && errno != EINTR) return std::nullopt;
      if (Clock::now() >= until) return std::nullopt;
      ::poll(nullptr, 0, 5);  // polling step
    }
  }

  // SIGKILL (works on a stopped process too), then reap. Idempotent.
  void kill_and_reap() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
  }

 private:
  void close_fds() {
    close_stdin();
    if (stdout_ >= 0) ::close(stdout_);
    stdout_ = -1;
  }

  pid_t pid_ = -1;
  int stdin_ = -1;
  int stdout_ = -1;
  bool at_end_ = false;
  std::string buffer_;
};

}  // namespace pseud::test
