#include "plugin_process/child_launch.hpp"

#include <fcntl.h>
#include <linux/close_range.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "pseud/errors.hpp"

extern char** environ;

namespace pseud::detail {

namespace {

std::string reason(int error) { return std::strerror(error); }

struct Pipe {
  UniqueFd read;
  UniqueFd write;
};

Pipe make_pipe() {
  int ends[2];
  if (::pipe2(ends, O_CLOEXEC) != 0) throw PluginError("cannot make a pipe: " + reason(errno));
  return {UniqueFd(ends[0]), UniqueFd(ends[1])};
}

// A close-on-exec copy at 10 or above, so that putting the child's 0..3 in
// place never overwrites a descriptor still to be copied.
UniqueFd high_copy(const UniqueFd& fd) {
  const int copy = ::fcntl(fd.get(), F_DUPFD_CLOEXEC, 10);
  if (copy < 0) throw PluginError("cannot copy a descriptor: " + reason(errno));
  return UniqueFd(copy);
}

// Between fork and exec only async-signal-safe calls: the host has threads.
[[noreturn]] void become_plugin(const std::string& program, int program_fd, char* const* argv, char* const* envp,
                                const int* sources, int exec_error, pid_t host) {
  ::setpgid(0, 0);
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (::getppid() != host) ::_exit(127);  // the host died before the death signal was set
  struct sigaction default_action {};
  default_action.sa_handler = SIG_DFL;
  for (int signal_number = 1; signal_number < NSIG; ++signal_number)
    ::sigaction(signal_number, &default_action, nullptr);  // SIG_IGN would survive exec
  sigset_t none;
  ::sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int target = 0; target < 4; ++target)
    if (::dup2(sources[target], target) < 0) {
      const int error = errno;
      [[maybe_unused]] auto written = ::write(exec_error, &error, sizeof error);
      ::_exit(127);
    }
  // Everything else closes at exec; the exec-error pipe stays open until then.
  if (::syscall(SYS_close_range, 4U, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
    struct rlimit limit {};
    const rlim_t top = ::getrlimit(RLIMIT_NOFILE, &limit) == 0 ? std::min<rlim_t>(limit.rlim_cur, 65536) : 1024;
    for (int fd = 4; fd < static_cast<int>(top); ++fd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  }
  if (program_fd >= 0)
    ::syscall(SYS_execveat, program_fd, "", argv, envp, AT_EMPTY_PATH);  // the file that was checked
  else
    ::execve(program.c_str(), argv, envp);
  const int error = errno;
  [[maybe_unused]] auto written = ::write(exec_error, &error, sizeof error);
  ::_exit(127);
}

}  // namespace

std::string resolve_program(const std::string& argv0) {
  if (argv0.empty()) throw PluginError("the command line is empty");
  if (argv0.find('/') != std::string::npos) return argv0;
  const char* path = std::getenv("PATH");
  const std::string directories = path && *path ? path : "/usr/local/bin:/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= directories.size()) {
    const std::size_t end = std::min(directories.find(':', start), directories.size());
    const std::string directory = end > start ? directories.substr(start, end - start) : ".";
    const std::string candidate = directory + "/" + argv0;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  throw PluginError("no executable '" + argv0 + "' on PATH (" + directories + ")");
}

std::vector<std::string> environment_with(const std::vector<std::string>& replaced) {
  auto key_of = [](std::string_view entry) { return entry.substr(0, entry.find('=')); };
  std::vector<std::string> environment;
  for (char** entry = environ; entry && *entry; ++entry) {
    const std::string_view text = *entry;
    const bool overridden = std::any_of(replaced.begin(), replaced.end(),
                                        [&](const std::string& r) { return key_of(r) == key_of(text); });
    if (!overridden) environment.emplace_back(text);
  }
  environment.insert(environment.end(), replaced.begin(), replaced.end());
  return environment;
}

LaunchedChild launch_child(const ChildPlan& plan) {
  std::vector<char*> argv;
  for (const auto& word : plan.argv) argv.push_back(const_cast<char*>(word.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (const auto& entry : plan.environment) envp.push_back(const_cast<char*>(entry.c_str()));
  envp.push_back(nullptr);

  UniqueFd null(::open("/dev/null", O_RDWR | O_CLOEXEC));
  if (!null) throw PluginError("cannot open /dev/null: " + reason(errno));
  Pipe out = make_pipe();
  Pipe err = make_pipe();
  Pipe handshake = make_pipe();
  Pipe exec_error = make_pipe();
  const UniqueFd sources[4] = {high_copy(null), high_copy(out.write), high_copy(err.write), high_copy(handshake.write)};
  const int source_fds[4] = {sources[0].get(), sources[1].get(), sources[2].get(), sources[3].get()};
  // A pinned program's descriptor may be one of 0..3, which the child replaces.
  UniqueFd program_copy;
  if (plan.program_fd >= 0) {
    program_copy.reset(::fcntl(plan.program_fd, F_DUPFD_CLOEXEC, 10));
    if (!program_copy) throw PluginError("cannot copy a descriptor: " + reason(errno));
  }

  const pid_t host = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) throw PluginError("fork failed: " + reason(errno));
  if (pid == 0)
    become_plugin(plan.program, program_copy.get(), argv.data(), envp.data(), source_fds, exec_error.write.get(), host);

  ::setpgid(pid, pid);  // as the child does: whichever runs first (EACCES once it has exec'd)
  exec_error.write.reset();
  int exec_errno = 0;
  std::size_t got = 0;
  while (got < sizeof exec_errno) {
    const ssize_t n = ::read(exec_error.read.get(), reinterpret_cast<char*>(&exec_errno) + got, sizeof exec_errno - got);
    if (n > 0) got += static_cast<std::size_t>(n);
    else if (n == 0 || errno != EINTR) break;
  }
  if (got == sizeof exec_errno) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    throw PluginError("cannot run " + plan.program + ": " + reason(exec_errno));
  }

  LaunchedChild child;
  child.pid = pid;
  child.pidfd.reset(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (!child.pidfd) {
    const int error = errno;
    ::kill(-pid, SIGKILL);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    throw PluginError("pidfd_open failed (Linux 5.3 or later is needed): " + reason(error));
  }
  child.stdout_read = std::move(out.read);
  child.stderr_read = std::move(err.read);
  child.handshake_read = std::move(handshake.read);
  return child;
}

}  // namespace pseud::detail
