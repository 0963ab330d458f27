#include "child.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstring>
#include <sstream>
#include <stdexcept>

extern char** environ;

namespace pseud::load {

namespace {

// Live children, for the signal handlers (which may only kill(2) them).
constexpr std::size_t max_children = 64;
std::array<std::atomic<pid_t>, max_children> live_children{};

void remember(pid_t pid) {
  for (auto& slot : live_children) {
    pid_t empty = 0;
    if (slot.compare_exchange_strong(empty, pid)) return;
  }
  throw std::runtime_error("pseud-load: too many child processes");
}

void forget(pid_t pid) {
  for (auto& slot : live_children) {
    pid_t expected = pid;
    if (slot.compare_exchange_strong(expected, 0)) return;
  }
}

extern "C" void kill_children_and_die(int signal_number) {
  for (auto& slot : live_children) {
    const pid_t pid = slot.load();
    if (pid > 0) ::kill(pid, SIGKILL);
  }
  ::signal(signal_number, SIG_DFL);
  ::raise(signal_number);
}

std::string own_path() {
  char path[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", path, sizeof path - 1);
  if (n <= 0) throw std::runtime_error("pseud-load: cannot read /proc/self/exe");
  return std::string(path, static_cast<std::size_t>(n));
}

}  // namespace

Child::Child(const std::vector<std::string>& args, const std::string& wrapper) : out_(-1) {
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
  static const std::string own = own_path();
  std::vector<std::string> argv_text;
  std::istringstream words(wrapper);
  for (std::string word; words >> word;) argv_text.push_back(word);
  const std::string path = argv_text.empty() ? own : argv_text.front();
  argv_text.push_back(own);
  argv_text.insert(argv_text.end(), args.begin(), args.end());
  argv_text.push_back("--parent");
  argv_text.push_back(std::to_string(::getpid()));
  std::vector<char*> argv;
  for (auto& arg : argv_text) argv.push_back(arg.data());
  argv.push_back(nullptr);
  const int error = argv_text.front() == own ? ::posix_spawn(&pid_, path.c_str(), &actions, nullptr, argv.data(), environ)
                                             : ::posix_spawnp(&pid_, path.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(in[0]);
  ::close(out[1]);
  stdin_ = in[1];
  out_ = LineReader(out[0]);
  if (error != 0) {
    pid_ = -1;
    close_stdin();
    ::close(out[0]);
    throw std::runtime_error("cannot spawn " + path + ": " + std::strerror(error));
  }
  remember(pid_);
  ::fcntl(stdin_, F_SETFL, ::fcntl(stdin_, F_GETFL) | O_NONBLOCK);
}

Child::~Child() {
  kill();
  close_stdin();
  if (out_.fd() >= 0) ::close(out_.fd());
}

bool Child::send(std::string_view line) { return stdin_ >= 0 && write_line(stdin_, line); }

bool Child::send_bytes(std::string_view bytes) { return stdin_ >= 0 && write_all(stdin_, bytes); }

std::optional<std::string> Child::expect(std::string_view prefix, std::int64_t deadline_ns) {
  while (auto text = out_.line(deadline_ns)) {
    if (text->rfind(prefix, 0) == 0) return text;
  }
  return std::nullopt;
}

int Child::finish(std::int64_t deadline_ns) {
  close_stdin();
  while (out_.line(deadline_ns)) {
  }
  if (pid_ <= 0) return -1;
  // EOF on its stdout: it has exited, or is about to; otherwise the deadline passed.
  int status = 0;
  pid_t done = ::waitpid(pid_, &status, WNOHANG);
  if (done == 0) {
    ::kill(pid_, SIGKILL);
    while ((done = ::waitpid(pid_, &status, 0)) < 0 && errno == EINTR) {
    }
  }
  forget(pid_);
  pid_ = -1;
  return status;
}

void Child::kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  forget(pid_);
  pid_ = -1;
}

void Child::close_stdin() {
  if (stdin_ >= 0) ::close(stdin_);
  stdin_ = -1;
}

std::vector<pid_t> live_child_pids() {
  std::vector<pid_t> pids;
  for (auto& slot : live_children) {
    if (const pid_t pid = slot.load(); pid > 0) pids.push_back(pid);
  }
  return pids;
}

void install_child_reaper() {
  for (const int signal_number : {SIGTERM, SIGINT, SIGALRM, SIGHUP, SIGABRT}) {
    ::signal(signal_number, kill_children_and_die);
  }
  ::signal(SIGPIPE, SIG_IGN);  // a dead child: EPIPE, not death
}

bool guard_child_process(pid_t parent, unsigned limit_seconds) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  ::alarm(limit_seconds);
  ::signal(SIGPIPE, SIG_IGN);
  return ::getppid() == parent;
}

int exit_code(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace pseud::load
