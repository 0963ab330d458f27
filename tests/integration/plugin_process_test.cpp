// Plugins as child processes (protocol/PLUGINS.md, pseud/plugin_host.hpp)
// end to end, with real processes: the C++ test plugin
// (tests/support/test_plugin.cpp, serve_plugin or the protocol by hand,
// misbehaving on request) and the Python one
// (tests/plugin_process/pyplugin.py). What a plugin run by hand does; version
// negotiation; output before the handshake; close() and what it leaves
// (nothing: no process, no zombie, no descriptor, no file), through the
// grace, SIGTERM and SIGKILL paths; the plugin going with a SIGKILLed host;
// a stranger with the socket path and another key; 100 cycles; tcp; refused
// handshakes and start timeouts. Each case prints a [figure] line.
//
// Every socket directory goes under an XDG_RUNTIME_DIR this test makes (one
// per case), so that what is left behind can be counted.

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <sodium.h>
#include <fstream>
#include <cstring>
#include <filesystem>
#include <functional>
#include <future>
#include <iostream>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "child_process.hpp"
#include "pseud/plugin_host.hpp"
#include "pseud/plugin_protocol.hpp"
#include "pseud/pseud.hpp"
#include "test_plugin_cookie.hpp"
#include "test_support.hpp"

extern char** environ;

namespace pseud::test {
namespace {

using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;

constexpr const char* test_plugin = PSEUD_TEST_PLUGIN;
constexpr const char* python = PSEUD_PYTHON;
constexpr const char* pyplugin = PSEUD_PYPLUGIN;
const PluginCookie& cookie = test_plugin_cookie;

constexpr int slowdown = sanitizer_slowdown;
#if defined(__SANITIZE_ADDRESS__)
// Under AddressSanitizer a process takes 200-300 ms to start (its shadow
// memory, an unoptimised 50 MB library): the 100 ms target is an optimised
// build's, and a close() carries some 35 ms more of its own.
constexpr int startup_slowdown = 5;
constexpr double close_slack_ms = 300;
#else
constexpr int startup_slowdown = sanitizer_slowdown;
constexpr double close_slack_ms = 0;
#endif

double ms_since(Clock::time_point start) { return std::chrono::duration<double, std::milli>(Clock::now() - start).count(); }

void figure(const std::string& text) { std::cout << "[figure] " << text << std::endl; }

std::string fixed(double value, int decimals = 1) {
  std::ostringstream out;
  out.setf(std::ios::fixed);
  out.precision(decimals);
  out << value;
  return out.str();
}

// ---- processes, descriptors, files -------------------------------------------------

struct ProcessState {
  pid_t pid = 0;
  pid_t parent = 0;
  char state = '?';
};

// What /proc/PID/stat says, or nullopt when there is no such process.
std::optional<ProcessState> process_state(pid_t pid) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/stat", static_cast<int>(pid));
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  char text[1024];
  const ssize_t n = ::read(fd, text, sizeof text - 1);
  ::close(fd);
  if (n <= 0) return std::nullopt;
  const std::string_view stat(text, static_cast<std::size_t>(n));
  const auto close_paren = stat.rfind(')');  // the command name may hold anything
  if (close_paren == std::string_view::npos || close_paren + 4 >= stat.size()) return std::nullopt;
  ProcessState state;
  state.pid = pid;
  state.state = stat[close_paren + 2];
  state.parent = static_cast<pid_t>(std::atoi(std::string(stat.substr(close_paren + 4, 16)).c_str()));
  return state;
}

// Gone: no such process, or only its zombie (waiting for a parent that is not us).
bool gone(pid_t pid) {
  if (::kill(pid, 0) != 0 && errno == ESRCH) return true;
  const auto state = process_state(pid);
  return !state || state->state == 'Z' || state->state == 'X';
}

// The processes whose parent is this test, zombies included.
std::vector<ProcessState> children_of_us() {
  std::vector<ProcessState> children;
  const pid_t us = ::getpid();
  if (DIR* dir = ::opendir("/proc")) {
    while (const dirent* entry = ::readdir(dir)) {
      if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
      const auto state = process_state(static_cast<pid_t>(std::atoi(entry->d_name)));
      if (state && state->parent == us) children.push_back(*state);
    }
    ::closedir(dir);
  }
  return children;
}

std::string describe(const std::vector<ProcessState>& processes) {
  std::string text;
  for (const auto& p : processes) text += " " + std::to_string(p.pid) + "(" + p.state + ")";
  return text.empty() ? " none" : text;
}

// The descriptors open in this process, each with what it leads to.
std::vector<std::string> open_descriptor_list() {
  std::vector<std::string> fds;
  if (DIR* dir = ::opendir("/proc/self/fd")) {
    while (const dirent* entry = ::readdir(dir)) {
      if (entry->d_name[0] == '.' || std::atoi(entry->d_name) == ::dirfd(dir)) continue;
      char target[512];
      const std::string link = std::string("/proc/self/fd/") + entry->d_name;
      const ssize_t n = ::readlink(link.c_str(), target, sizeof target - 1);
      fds.push_back(std::string(entry->d_name) + " -> " + (n > 0 ? std::string(target, static_cast<std::size_t>(n)) : "?"));
    }
    ::closedir(dir);
  }
  std::sort(fds.begin(), fds.end());
  return fds;
}

std::vector<std::string> entries_of(const std::string& directory) {
  std::vector<std::string> names;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(directory, error)) names.push_back(entry.path().filename());
  return names;
}

// A directory of this test, set as XDG_RUNTIME_DIR (where PluginProcess makes
// its socket directories) while it lives; removed with what is in it.
class RuntimeDir {
 public:
  RuntimeDir() {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/pseud-plugin-test-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp: " + std::string(std::strerror(errno)));
    path_ = pattern;
    if (const char* old = std::getenv("XDG_RUNTIME_DIR")) previous_ = old;
    ::setenv("XDG_RUNTIME_DIR", path_.c_str(), 1);
  }
  RuntimeDir(const RuntimeDir&) = delete;
  RuntimeDir& operator=(const RuntimeDir&) = delete;
  ~RuntimeDir() {
    if (previous_) {
      ::setenv("XDG_RUNTIME_DIR", previous_->c_str(), 1);
    } else {
      ::unsetenv("XDG_RUNTIME_DIR");
    }
    std::error_code error;
    std::filesystem::remove_all(path_, error);
  }
  const std::string& path() const noexcept { return path_; }
  std::vector<std::string> leftovers() const { return entries_of(path_); }

 private:
  std::string path_;
  std::optional<std::string> previous_;
};

// Each case: its own runtime directory, and no child process left at its end.
class PluginProcessTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
#if defined(__SANITIZE_THREAD__)
    // ThreadSanitizer sleeps 1 s at exit by default (atexit_sleep_ms): every
    // plugin and host this test starts would end 1 s late, and the timings
    // of shutdowns and kills would measure that sleep.
    const char* options = std::getenv("TSAN_OPTIONS");
    const std::string with = std::string(options ? options : "") + " atexit_sleep_ms=0";
    ::setenv("TSAN_OPTIONS", with.c_str(), 1);
#endif
  }
  void TearDown() override {
    // Whatever a case left running is a failure, and is killed here so that
    // it cannot spoil the next case.
    const auto left = children_of_us();
    EXPECT_TRUE(left.empty()) << "children of the test left:" << describe(left);
    for (const auto& child : left) {
      ::kill(child.pid, SIGKILL);
      ::waitpid(child.pid, nullptr, 0);
    }
  }
  void expect_no_leftover_files() {
    const auto left = runtime.leftovers();
    EXPECT_TRUE(left.empty()) << "left in " << runtime.path() << ": " << ::testing::PrintToString(left);
  }

  RuntimeDir runtime;
};

// ---- the plugin's output ----------------------------------------------------------------

// Collects what on_output receives (from the plugin's supervising thread).
class OutputLines {
 public:
  std::function<void(PluginStream, std::string_view)> sink() {
    return [this](PluginStream stream, std::string_view line) {
      std::lock_guard lock(mutex_);
      lines_.emplace_back(stream, std::string(line));
    };
  }
  bool saw(PluginStream stream, std::string_view text) const {
    std::lock_guard lock(mutex_);
    return std::any_of(lines_.begin(), lines_.end(), [&](const auto& entry) {
      return entry.first == stream && entry.second.find(text) != std::string::npos;
    });
  }
  bool saw_anywhere(std::string_view text) const {
    return saw(PluginStream::stdout_stream, text) || saw(PluginStream::stderr_stream, text);
  }
  std::string dump() const {
    std::lock_guard lock(mutex_);
    std::string text;
    for (const auto& [stream, line] : lines_) {
      text += (stream == PluginStream::stdout_stream ? "\n  stdout: " : "\n  stderr: ") + line;
    }
    return text;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::pair<PluginStream, std::string>> lines_;
};

// A launch of the test plugin with `args`; its output to `output` when given.
PluginLaunch launch_of(std::vector<std::string> args, OutputLines* output = nullptr) {
  PluginLaunch launch;
  launch.argv = {test_plugin};
  launch.argv.insert(launch.argv.end(), args.begin(), args.end());
  launch.cookie = cookie;
  launch.versions = {1, 2};
  launch.start_timeout = 10000ms * slowdown;
  if (output) launch.on_output = output->sink();
  return launch;
}

// The PluginError a launch fails with, and how long it took; fails the test
// when the plugin starts (and then closes it).
struct Refusal {
  std::string message;
  double ms = 0;
};
Refusal refusal_of(PluginLaunch launch) {
  const auto start = Clock::now();
  try {
    PluginProcess plugin(std::move(launch));
    ADD_FAILURE() << "the plugin started (version " << plugin.version() << ", " << plugin.endpoint() << ")";
    plugin.close();
  } catch (const PluginError& e) {
    return {e.what(), ms_since(start)};
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not a PluginError: " << e.what();
  }
  return {{}, ms_since(start)};
}

// ---- a program run directly, with an environment of our choosing ----------------------------

struct DirectRun {
  bool exited = false;
  int code = -1;
  std::string out;
  std::string err;
  double ms = 0;  // from the spawn to the reaping
};

DirectRun run_directly(const std::vector<std::string>& argv, std::vector<std::string> environment,
                       std::chrono::milliseconds limit) {
  DirectRun run;
  int out[2];
  int err[2];
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err[1], STDERR_FILENO);
  std::vector<std::string> argv_text = argv;
  std::vector<char*> args;
  for (auto& arg : argv_text) args.push_back(arg.data());
  args.push_back(nullptr);
  std::vector<char*> env;
  for (auto& entry : environment) env.push_back(entry.data());
  env.push_back(nullptr);
  pid_t pid = -1;
  const auto start = Clock::now();
  const int error = ::posix_spawn(&pid, argv_text[0].c_str(), &actions, nullptr, args.data(), env.data());
  posix_spawn_file_actions_destroy(&actions);
  ::close(out[1]);
  ::close(err[1]);
  if (error != 0) {
    ::close(out[0]);
    ::close(err[0]);
    throw std::runtime_error("cannot spawn " + argv_text[0] + ": " + std::strerror(error));
  }
  const auto until = start + limit;
  pollfd items[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  std::string* sinks[2] = {&run.out, &run.err};
  int status = 0;
  bool reaped = false;
  while (Clock::now() < until) {
    if (!reaped) {
      const pid_t done = ::waitpid(pid, &status, WNOHANG);
      if (done == pid) {
        run.ms = ms_since(start);
        reaped = true;
      }
    }
    if (reaped && items[0].fd < 0 && items[1].fd < 0) break;
    const int ready = ::poll(items, 2, 1);  // 1 ms: the step that times the exit
    if (ready <= 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (items[i].fd < 0 || items[i].revents == 0) continue;
      char chunk[4096];
      const ssize_t n = ::read(items[i].fd, chunk, sizeof chunk);
      if (n > 0) {
        sinks[i]->append(chunk, static_cast<std::size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        ::close(items[i].fd);
        items[i].fd = -1;
      }
    }
  }
  for (auto& item : items) {
    if (item.fd >= 0) ::close(item.fd);
  }
  if (!reaped) {
    ADD_FAILURE() << argv_text[0] << " still runs after " << limit.count() << " ms: killed";
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    run.ms = ms_since(start);
  }
  run.exited = WIFEXITED(status);
  run.code = run.exited ? WEXITSTATUS(status) : -WTERMSIG(status);
  return run;
}

// Empty when /usr/bin/python3 can import zmq and msgpack; otherwise why not.
const std::string& python_problem() {
  static const std::string problem = []() -> std::string {
    if (::access(python, X_OK) != 0) return std::string(python) + " is not installed";
    if (::access(pyplugin, R_OK) != 0) return std::string(pyplugin) + " is missing";
    const DirectRun check = run_directly({python, "-c", "import zmq, msgpack"}, {"PATH=/usr/bin:/bin"}, 30s);
    if (check.exited && check.code == 0) return {};
    return std::string(python) + " cannot import zmq and msgpack: " + check.err;
  }();
  return problem;
}

#define SKIP_WITHOUT_PYTHON()                                                                                   \
  if (!python_problem().empty())                                                                                \
  GTEST_SKIP() << "the Python plugin needs " << python << " with zmq and msgpack: " << python_problem()         \
               << " (apt-get install python3-zmq python3-msgpack)"

// ---- 1. run by hand ------------------------------------------------------------------------------

TEST_F(PluginProcessTest, RunByHandWithoutTheCookieExitsOneAtOnceSayingWhy) {
  // A clean environment: no cookie, nothing of the host.
  const std::vector<std::string> clean = {"PATH=/usr/bin:/bin"};
  double cpp_best = 1e9;
  std::string cpp_runs;
  for (int i = 0; i < 3; ++i) {
    const DirectRun run = run_directly({test_plugin}, clean, 10s);
    EXPECT_TRUE(run.exited);
    EXPECT_EQ(run.code, 1);
    EXPECT_EQ(run.out, "");
    EXPECT_THAT(run.err, HasSubstr("plugin")) << run.err;
    EXPECT_EQ(std::count(run.err.begin(), run.err.end(), '\n'), 1) << "one line: " << run.err;
    EXPECT_LT(run.ms, 1000.0 * startup_slowdown) << "C++ plugin run by hand";
    cpp_best = std::min(cpp_best, run.ms);
    cpp_runs += (i ? ", " : "") + fixed(run.ms);
    if (i == 0) std::cout << "  C++ plugin's line: " << run.err;
  }
  // The target holds for the best of three: one run delayed by a busy
  // machine's scheduler says nothing about the plugin (22-39 ms idle, 61 ms
  // once beside a compiler).
  EXPECT_LT(cpp_best, 100.0 * startup_slowdown) << "C++ plugin run by hand: " << cpp_runs;
  figure("C++ test plugin without its cookie: exit 1 in " + cpp_runs + " ms (3 runs)");

  if (!python_problem().empty()) {
    figure("Python plugin without its cookie: not run (" + python_problem() + ")");
    return;
  }
  std::string py_runs;
  for (int i = 0; i < 3; ++i) {
    const DirectRun run = run_directly({python, pyplugin, "--cookie", cookie.key + "=" + cookie.value}, clean, 10s);
    EXPECT_TRUE(run.exited);
    EXPECT_EQ(run.code, 1);
    EXPECT_EQ(run.out, "");
    EXPECT_THAT(run.err, HasSubstr("plugin")) << run.err;
    EXPECT_EQ(std::count(run.err.begin(), run.err.end(), '\n'), 1) << "one line: " << run.err;
    EXPECT_LT(run.ms, 1000.0 * slowdown) << "Python plugin run by hand";
    py_runs += (i ? ", " : "") + fixed(run.ms);
    if (i == 0) std::cout << "  Python plugin's line: " << run.err;
  }
  figure("Python plugin without its cookie: exit 1 in " + py_runs + " ms (3 runs)");
}

// ---- 2. versions ---------------------------------------------------------------------------------

TEST_F(PluginProcessTest, TheHighestCommonVersionIsChosen) {
  auto launch = launch_of({"--versions", "2,3"});
  launch.versions = {1, 2};
  const auto start = Clock::now();
  PluginProcess plugin(std::move(launch));
  const double start_ms = ms_since(start);
  EXPECT_EQ(plugin.version(), 2);
  EXPECT_EQ(plugin.handshake().version, 2);
  EXPECT_EQ(plugin.client().call<int>("served_version"), 2);
  EXPECT_EQ(plugin.client().call<std::string>("version_two"), "two");
  const PluginExit exit = plugin.close();
  EXPECT_TRUE(exit.exited);
  EXPECT_EQ(exit.code, 0);

  // Version 1 serves no version_two.
  auto one = launch_of({"--versions", "1"});
  one.versions = {1, 2};
  PluginProcess first(std::move(one));
  EXPECT_EQ(first.version(), 1);
  EXPECT_THROW(first.client().call<std::string>("version_two"), RemoteError);
  EXPECT_EQ(first.close().status(), 0);
  figure("host {1,2} x plugin {2,3}: version 2 in " + fixed(start_ms) + " ms from start to ready");
  expect_no_leftover_files();
}

TEST_F(PluginProcessTest, NoCommonVersionIsAPluginErrorNamingBothLists) {
  auto launch = launch_of({"--versions", "2"});
  launch.versions = {1};
  const Refusal refusal = refusal_of(std::move(launch));
  EXPECT_LT(refusal.ms, 1000.0 * slowdown);
  EXPECT_THAT(refusal.message, HasSubstr("1"));
  EXPECT_THAT(refusal.message, HasSubstr("2"));
  std::cout << "  " << refusal.message << std::endl;

  // Lists that cannot be mistaken for other numbers in the message.
  auto wider = launch_of({"--versions", "2,3"});
  wider.versions = {1, 4};
  const Refusal second = refusal_of(std::move(wider));
  EXPECT_LT(second.ms, 1000.0 * slowdown);
  EXPECT_THAT(second.message, HasSubstr("1,4"));
  EXPECT_THAT(second.message, HasSubstr("2,3"));
  figure("host {1} x plugin {2}: PluginError in " + fixed(refusal.ms) + " ms; {1,4} x {2,3}: " + fixed(second.ms) +
         " ms");
  expect_no_leftover_files();
}

// ---- 3. output before the handshake -----------------------------------------------------------------

TEST_F(PluginProcessTest, OutputBeforeTheHandshakeIsPassedOnNotTakenForIt) {
  OutputLines output;
  PluginProcess plugin(launch_of({"--noise"}, &output));
  EXPECT_EQ(plugin.client().call<std::string>("echo", "after the noise"), "after the noise");
  EXPECT_TRUE(eventually([&] { return output.saw(PluginStream::stdout_stream, "noise on stdout"); }, 5000ms))
      << output.dump();
  EXPECT_TRUE(eventually([&] { return output.saw(PluginStream::stderr_stream, "noise on stderr"); }, 5000ms))
      << output.dump();
  EXPECT_FALSE(output.saw(PluginStream::stderr_stream, "noise on stdout")) << output.dump();
  EXPECT_FALSE(output.saw(PluginStream::stdout_stream, "noise on stderr")) << output.dump();
  EXPECT_EQ(plugin.close().status(), 0);

  // The same from the Python plugin, whose noise is on stdout only.
  if (!python_problem().empty()) {
    figure("noise before the handshake: C++ plugin loads, both streams right; Python not run");
    return;
  }
  OutputLines py_output;
  PluginLaunch launch;
  launch.argv = {python, pyplugin, "--cookie", cookie.key + "=" + cookie.value, "--noise"};
  launch.cookie = cookie;
  launch.versions = {1, 2};
  launch.start_timeout = 20000ms * slowdown;
  launch.on_output = py_output.sink();
  PluginProcess py(std::move(launch));
  EXPECT_EQ(py.client().call<std::string>("language"), "python");
  EXPECT_TRUE(eventually([&] { return py_output.saw(PluginStream::stdout_stream, "noise line 3 of 3"); }, 5000ms))
      << py_output.dump();
  EXPECT_EQ(py.close().status(), 0);
  figure("noise before the handshake: both plugins load; lines arrive on the stream they were written to");
  expect_no_leftover_files();
}

// ---- 4. close ------------------------------------------------------------------------------------------

TEST_F(PluginProcessTest, CloseExitsZeroAndLeavesNothing) {
  PluginProcess plugin(launch_of({}));
  const pid_t pid = plugin.pid();
  const std::string directory = plugin.socket_directory();
  const std::string socket = plugin.handshake().address;
  EXPECT_EQ(plugin.handshake().transport, PluginTransport::unix_socket);
  EXPECT_EQ(plugin.endpoint(), "ipc://" + socket);
  EXPECT_EQ(std::filesystem::path(socket).parent_path(), std::filesystem::path(directory));
  EXPECT_EQ(directory.rfind(runtime.path() + "/", 0), 0u) << directory << " not under XDG_RUNTIME_DIR " << runtime.path();
  EXPECT_TRUE(std::filesystem::exists(socket));
  EXPECT_TRUE(plugin.running());
  EXPECT_EQ(plugin.client().call<int>("pid"), pid);

  const auto start = Clock::now();
  const PluginExit exit = plugin.close();
  const double close_ms = ms_since(start);
  EXPECT_TRUE(exit.exited);
  EXPECT_EQ(exit.code, 0);
  EXPECT_EQ(exit.status(), 0);
  EXPECT_EQ(exit.describe(), "exit status 0");
  EXPECT_FALSE(plugin.running());
  EXPECT_FALSE(std::filesystem::exists(socket)) << socket;
  EXPECT_FALSE(std::filesystem::exists(directory)) << directory;
  errno = 0;
  EXPECT_EQ(::kill(pid, 0), -1);
  EXPECT_EQ(errno, ESRCH) << "the plugin is reaped, not a zombie";
  EXPECT_FALSE(process_state(pid).has_value());
  const PluginExit again = plugin.close();
  EXPECT_EQ(again.exited, exit.exited);
  EXPECT_EQ(again.code, exit.code);
  figure("close(): exit status 0 in " + fixed(close_ms) + " ms; socket, directory and process gone");
  expect_no_leftover_files();
}

TEST_F(PluginProcessTest, CloseLetsACallInFlightFinish) {
  PluginProcess plugin(launch_of({}));
  auto answer = plugin.client().async_call<int>("sleep_ms", 300);
  // Same connection, so the shutdown call arrives after sleep_ms.
  const auto start = Clock::now();
  const PluginExit exit = plugin.close();
  const double close_ms = ms_since(start);
  EXPECT_EQ(get_within(answer, 5000ms), 300);
  EXPECT_TRUE(exit.exited);
  EXPECT_EQ(exit.code, 0);
  EXPECT_GE(close_ms, 250.0);
  figure("close() with a 300 ms call in flight: the call answered, exit 0 after " + fixed(close_ms) + " ms");
  expect_no_leftover_files();
}

TEST_F(PluginProcessTest, CloseKillsAGrandchildOfAWellBehavedPlugin) {
  PluginProcess plugin(launch_of({}));
  const pid_t grandchild = plugin.client().call<int>("spawn_grandchild");
  ASSERT_GT(grandchild, 0);
  EXPECT_FALSE(gone(grandchild));
  const auto start = Clock::now();
  const PluginExit exit = plugin.close();
  const double close_ms = ms_since(start);
  EXPECT_TRUE(exit.exited);
  EXPECT_EQ(exit.code, 0);
  const bool grandchild_gone = eventually([&] { return gone(grandchild); }, 1000ms);
  EXPECT_TRUE(grandchild_gone) << "grandchild " << grandchild << " outlived close()";
  if (!grandchild_gone) ::kill(grandchild, SIGKILL);
  figure("close() of a plugin with a grandchild (holding its stdout and stderr): exit 0 in " + fixed(close_ms) +
         " ms, grandchild gone");
  expect_no_leftover_files();
}

TEST_F(PluginProcessTest, ThePluginHasDescriptorsZeroToThreeAndAGroupOfItsOwn) {
  PluginProcess plugin(launch_of({}));
  const auto fds = plugin.client().call<std::vector<int>>("start_fds");
  EXPECT_EQ(fds, (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(plugin.client().call<std::string>("stdin_path"), "/dev/null");
  EXPECT_EQ(plugin.client().call<int>("process_group"), plugin.pid());
  EXPECT_EQ(plugin.close().status(), 0);
  figure("the plugin began with descriptors " + ::testing::PrintToString(fds) + ", stdin /dev/null, its own group");
}

TEST_F(PluginProcessTest, SigtermIsAShutdownToo) {
  // PLUGINS.md 2.7: SIGTERM is a shutdown as pseud.plugin.shutdown is (exit 0).
  PluginProcess plugin(launch_of({}));
  EXPECT_EQ(plugin.client().call<std::string>("echo", "before"), "before");
  const auto start = Clock::now();
  ASSERT_EQ(::kill(plugin.pid(), SIGTERM), 0);
  EXPECT_TRUE(eventually([&] { return !plugin.running(); }, 5000ms));
  const double exit_ms = ms_since(start);
  const PluginExit exit = plugin.close();
  EXPECT_TRUE(exit.exited) << exit.describe();
  EXPECT_EQ(exit.code, 0) << exit.describe();
  figure("SIGTERM to a serving plugin: " + exit.describe() + " after " + fixed(exit_ms) + " ms");
  expect_no_leftover_files();
}

TEST_F(PluginProcessTest, ASecondSigtermDuringTheShutdownStillEndsInExitZero) {
  // The host's SIGKILL can bring more than one SIGTERM (PR_SET_PDEATHSIG fires
  // each time the plugin is reparented: to each host thread that is still
  // alive, then to a subreaper), and a host's close() may SIGTERM a plugin
  // that is still finishing its calls: a repeated SIGTERM is the same shutdown.
  PluginProcess plugin(launch_of({}));
  auto in_flight = plugin.client().async_call<int>("sleep_ms", 600);
  // Same connection: once echo answers, sleep_ms runs on a worker.
  EXPECT_EQ(plugin.client().call<std::string>("echo", "after"), "after");
  ASSERT_EQ(::kill(plugin.pid(), SIGTERM), 0);
  const bool stopping = eventually(
      [&] {
        try {
          plugin.client().call<std::string>("echo", "still?", CallOptions{.timeout = 200ms});
          return false;
        } catch (const Error&) {
          return true;  // refused: the stop has begun
        }
      },
      2000ms);
  EXPECT_TRUE(stopping);
  ASSERT_EQ(::kill(plugin.pid(), SIGTERM), 0);
  EXPECT_EQ(get_within(in_flight, 5000ms), 600);
  EXPECT_TRUE(eventually([&] { return !plugin.running(); }, 5000ms));
  const PluginExit exit = plugin.close();
  EXPECT_TRUE(exit.exited) << exit.describe();
  EXPECT_EQ(exit.code, 0) << exit.describe();
  figure("a second SIGTERM while the plugin finishes a call: the call answered, plugin " + exit.describe());
  expect_no_leftover_files();
}

// ---- 5. a plugin that ignores the shutdown ---------------------------------------------------------------

// A plugin of `mode` with a grandchild, closed with a grace of 1 s: how long
// close() took, how it ended, and whether the grandchild is gone.
struct Stubborn {
  PluginExit exit;
  double close_ms = 0;
  bool grandchild_gone = false;
};
Stubborn close_stubborn(const std::string& mode) {
  auto launch = launch_of({mode});
  launch.grace = 1000ms;
  launch.kill_delay = 500ms;
  PluginProcess plugin(std::move(launch));
  const pid_t pid = plugin.pid();
  const pid_t grandchild = plugin.client().call<int>("spawn_grandchild");
  EXPECT_GT(grandchild, 0);
  const auto start = Clock::now();
  Stubborn result;
  result.exit = plugin.close();
  result.close_ms = ms_since(start);
  result.grandchild_gone = eventually([&] { return gone(grandchild); }, 1000ms);
  if (!result.grandchild_gone) ::kill(grandchild, SIGKILL);
  errno = 0;
  EXPECT_EQ(::kill(pid, 0), -1) << "the plugin is reaped";
  EXPECT_EQ(errno, ESRCH);
  const auto zombies = children_of_us();
  EXPECT_TRUE(zombies.empty()) << "children of the test after close():" << describe(zombies);
  return result;
}

// close() of a stubborn plugin ends with `signal_number` at [low, high] ms (high
// stretched under ThreadSanitizer), its grandchild gone, no zombie left.
void expect_killed_at(const char* mode, int signal_number, double low, double high, const std::string& what) {
  const Stubborn stubborn = close_stubborn(mode);
  EXPECT_FALSE(stubborn.exit.exited);
  EXPECT_EQ(stubborn.exit.signal, signal_number) << stubborn.exit.describe();
  EXPECT_EQ(stubborn.exit.status(), 128 + signal_number);
  EXPECT_GE(stubborn.close_ms, low);
  EXPECT_LE(stubborn.close_ms, high * slowdown + close_slack_ms);
  EXPECT_TRUE(stubborn.grandchild_gone);
  figure(std::string(mode) + ", " + what + ": close() returned after " + fixed(stubborn.close_ms) + " ms, " +
         stubborn.exit.describe() + ", grandchild gone, no zombie");
}

TEST_F(PluginProcessTest, APluginIgnoringShutdownIsTerminatedAfterTheGrace) {
  expect_killed_at("--ignore-shutdown", SIGTERM, 900.0, 1100.0, "grace 1000 ms");
  expect_no_leftover_files();
}

TEST_F(PluginProcessTest, APluginIgnoringSigtermIsKilledAfterTheKillDelay) {
  expect_killed_at("--ignore-term", SIGKILL, 1350.0, 1650.0, "grace 1000 + kill delay 500 ms");
  expect_no_leftover_files();
}

// ---- 6. the host SIGKILLed ---------------------------------------------------------------------------------

// This process as a child subreaper while it lives: an orphan of our children
// becomes our child, to be reaped (and timed) here.
class Subreaper {
 public:
  Subreaper() { EXPECT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0) << std::strerror(errno); }
  ~Subreaper() { ::prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0); }
  Subreaper(const Subreaper&) = delete;
  Subreaper& operator=(const Subreaper&) = delete;
};

TEST_F(PluginProcessTest, ThePluginGoesWithASigkilledHost) {
  Subreaper subreaper;
  ChildProcess host(test_plugin, {"--as-host", test_plugin}, {.quiet_stderr = false, .ignore_sigpipe = true, .spawn_hint = {}});
  const auto line = host.read_line(10000ms * slowdown);
  ASSERT_TRUE(line.has_value()) << "the host printed no pid";
  const pid_t plugin = static_cast<pid_t>(std::atoi(line->c_str()));
  ASSERT_GT(plugin, 0) << *line;
  const auto before = process_state(plugin);
  ASSERT_TRUE(before.has_value());
  EXPECT_EQ(before->parent, host.pid());

  const auto start = Clock::now();
  host.kill_and_reap();  // SIGKILL: the host cannot say anything to its plugin
  int status = 0;
  bool reaped = false;
  const bool went = eventually(
      [&] {
        const pid_t done = ::waitpid(plugin, &status, WNOHANG);  // ours now, as subreaper
        if (done == plugin) reaped = true;
        return reaped || (done < 0 && gone(plugin));
      },
      5000ms);
  const double gone_ms = ms_since(start);
  if (!went) {
    ::kill(plugin, SIGKILL);
    ::waitpid(plugin, nullptr, 0);
  }
  ASSERT_TRUE(went) << "the plugin outlived its SIGKILLed host by 5 s";
  EXPECT_LE(gone_ms, 1000.0 * slowdown);
  std::string how = "not reaped here";
  if (reaped) {
    how = WIFEXITED(status) ? "exit status " + std::to_string(WEXITSTATUS(status))
                            : "killed by signal " + std::to_string(WTERMSIG(status));
    // The host's death is a SIGTERM to the plugin, and SIGTERM is a shutdown (exit 0).
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "the plugin ended: " << how;
  }
  // The dead host could not remove the directory it made for the socket.
  std::string left;
  for (const auto& name : runtime.leftovers()) {
    left += " " + name + "/ holding " + ::testing::PrintToString(entries_of(runtime.path() + "/" + name));
  }
  figure("host SIGKILLed: the plugin gone after " + fixed(gone_ms) + " ms (" + how + "); left in XDG_RUNTIME_DIR:" +
         (left.empty() ? " nothing" : left));
}

// ---- 7. a stranger with the socket path --------------------------------------------------------------------

TEST_F(PluginProcessTest, AnotherKeyIsRefusedAndTheHostStillWorks) {
  PluginProcess plugin(launch_of({}));
  struct stat info {};
  ASSERT_EQ(::stat(plugin.socket_directory().c_str(), &info), 0) << std::strerror(errno);
  EXPECT_TRUE(S_ISDIR(info.st_mode));
  EXPECT_EQ(info.st_mode & 07777, 0700u) << std::oct << (info.st_mode & 07777);
  EXPECT_EQ(info.st_uid, ::getuid());

  // The right server key (from the handshake), another client key.
  const CurveKeyPair stranger = generate_curve_keypair();
  PeerOptions options;
  options.auth = {"trusted_curve", {{"server_public_key", plugin.handshake().server_key},
                                    {"public_key", stranger.public_key},
                                    {"secret_key", stranger.secret_key}}};
  Client intruder(std::string(plugin_server_name), options);
  intruder.connect(plugin.endpoint());
  const auto start = Clock::now();
  std::string outcome;
  try {
    const auto answer = intruder.call<std::string>("echo", "let me in", CallOptions{.timeout = 3000ms});
    ADD_FAILURE() << "the stranger was answered: " << answer;
  } catch (const HandshakeError& e) {
    outcome = std::string("HandshakeError (") + e.what() + ")";
  } catch (const TimeoutError&) {
    outcome = "no answer (TimeoutError)";
  }
  const double refused_ms = ms_since(start);
  intruder.stop();

  // No CURVE at all.
  Client null_client{std::string(plugin_server_name)};
  null_client.connect(plugin.endpoint());
  std::string null_outcome;
  try {
    null_client.call<std::string>("echo", "let me in", CallOptions{.timeout = 3000ms});
    ADD_FAILURE() << "a client without CURVE was answered";
  } catch (const HandshakeError&) {
    null_outcome = "HandshakeError";
  } catch (const TimeoutError&) {
    null_outcome = "TimeoutError";
  }
  null_client.stop();

  EXPECT_EQ(plugin.client().call<std::string>("echo", "still here"), "still here");
  EXPECT_EQ(plugin.close().status(), 0);
  figure("a client with another key: " + outcome + " after " + fixed(refused_ms) + " ms; without CURVE: " +
         null_outcome + "; the host's client still answered; socket directory 0700, ours");
  expect_no_leftover_files();
}

// ---- 8. the Python plugin -----------------------------------------------------------------------------------

TEST_F(PluginProcessTest, ThePythonPluginLoadsAndAnswers) {
  SKIP_WITHOUT_PYTHON();
  OutputLines output;
  PluginLaunch launch;
  launch.argv = {python, pyplugin, "--cookie", cookie.key + "=" + cookie.value};
  launch.cookie = cookie;
  launch.versions = {1, 2};
  launch.start_timeout = 20000ms * slowdown;
  launch.on_output = output.sink();
  const auto start = Clock::now();
  PluginProcess plugin(std::move(launch));
  const double start_ms = ms_since(start);
  EXPECT_EQ(plugin.version(), 2);
  EXPECT_EQ(plugin.client().call<std::string>("language"), "python");
  EXPECT_EQ(plugin.client().call<int>("pid"), plugin.pid());
  EXPECT_EQ(plugin.client().call<int>("count"), 1);
  EXPECT_EQ(plugin.client().call<int>("count"), 2);
  EXPECT_EQ(plugin.client().call<int>("get_count"), 2);
  plugin.client().call<void>("reset");
  EXPECT_EQ(plugin.client().call<int>("get_count"), 0);
  const auto close_start = Clock::now();
  const PluginExit exit = plugin.close();
  const double close_ms = ms_since(close_start);
  EXPECT_TRUE(exit.exited) << exit.describe() << output.dump();
  EXPECT_EQ(exit.code, 0) << output.dump();
  figure("Python plugin: ready in " + fixed(start_ms) + " ms, version 2, count/get_count/reset/language answered, " +
         exit.describe() + " after " + fixed(close_ms) + " ms");
  expect_no_leftover_files();
}

// ---- 9. cycles ---------------------------------------------------------------------------------------------

TEST_F(PluginProcessTest, HundredCyclesLeaveNoProcessDescriptorOrFile) {
  const auto cycle = [] {
    PluginProcess plugin(launch_of({}));
    EXPECT_EQ(plugin.client().call<std::string>("echo", "cycle"), "cycle");
    const PluginExit exit = plugin.close();
    EXPECT_TRUE(exit.exited);
    EXPECT_EQ(exit.code, 0);
  };
  // One cycle first: the process-wide ZeroMQ context (and its descriptors)
  // outlives a PluginProcess, and is made by the first one a process has.
  cycle();
  const auto fds_before = open_descriptor_list();
  constexpr int cycles = 100;
  const auto start = Clock::now();
  for (int i = 0; i < cycles && !HasFailure(); ++i) cycle();
  const double total_ms = ms_since(start);
  const auto fds_right_after = open_descriptor_list();
  // libzmq closes a stopped client's socket on its own reaper thread, a moment
  // after the socket was closed: a bounded wait for that, no slack. The same
  // goes for the warm-up cycle's socket, which may still be open in
  // fds_before (one run in 25): so "no more than before".
  const bool fds_back = eventually([&] { return open_descriptor_list().size() <= fds_before.size(); }, 2000ms);
  const auto fds_after = open_descriptor_list();
  EXPECT_TRUE(fds_back) << "before: " << ::testing::PrintToString(fds_before)
                        << "\nafter: " << ::testing::PrintToString(fds_after);
  if (fds_right_after != fds_before) {
    std::cout << "  right after the last close(): " << ::testing::PrintToString(fds_right_after) << "\n  before: "
              << ::testing::PrintToString(fds_before) << std::endl;
  }
  const auto children = children_of_us();
  EXPECT_TRUE(children.empty()) << describe(children);
  expect_no_leftover_files();
  figure(std::to_string(cycles) + " start/call/close cycles: " + fixed(total_ms / cycles) + " ms per cycle; descriptors " +
         std::to_string(fds_before.size()) + " -> " + std::to_string(fds_right_after.size()) + " right after, " +
         std::to_string(fds_after.size()) + " after at most 2 s; " + std::to_string(children.size()) +
         " children, " + std::to_string(runtime.leftovers().size()) + " files left");
}

// Without on_output, the plugin's lines go to the log callback, tagged with its
// name: stderr at info, stdout at debug.
TEST_F(PluginProcessTest, WithoutOnOutputThePluginsLinesGoToTheLogTaggedWithItsName) {
  std::mutex mutex;
  std::vector<std::pair<LogLevel, std::string>> records;
  set_log_handler(
      [&](LogLevel level, std::string_view message) {
        std::lock_guard lock(mutex);
        records.emplace_back(level, std::string(message));
      },
      LogLevel::debug);
  const auto logged = [&](LogLevel level, const std::string& text) {
    std::lock_guard lock(mutex);
    return std::any_of(records.begin(), records.end(), [&](const auto& r) { return r.first == level && r.second == text; });
  };
  {
    PluginLaunch launch = launch_of({"--noise"});
    launch.name = "noisy";
    PluginProcess plugin(std::move(launch));
    EXPECT_TRUE(eventually([&] { return logged(LogLevel::info, "plugin noisy: test_plugin: noise on stderr"); }, 5000ms));
    EXPECT_TRUE(eventually([&] { return logged(LogLevel::debug, "plugin noisy: test_plugin: noise on stdout"); }, 5000ms));
    EXPECT_EQ(plugin.close().status(), 0);
  }
  set_log_handler({});
  expect_no_leftover_files();
}

// ---- a pinned program -----------------------------------------------------------------------------------

std::string sha256_hex_of_file(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  char hex[sizeof digest * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
  return hex;
}

TEST_F(PluginProcessTest, APinnedProgramRunsOnlyWithItsSha256) {
  ASSERT_GE(sodium_init(), 0);
  const std::string digest = sha256_hex_of_file(test_plugin);
  {
    PluginLaunch pinned = launch_of({});
    pinned.sha256 = digest;
    PluginProcess plugin(std::move(pinned));
    EXPECT_EQ(plugin.client().call<std::string>("echo", "pinned"), "pinned");
    EXPECT_EQ(plugin.close().status(), 0);
  }
  std::string other = digest;
  other[0] = other[0] == '0' ? '1' : '0';
  PluginLaunch wrong = launch_of({});
  wrong.sha256 = other;
  const Refusal mismatch = refusal_of(std::move(wrong));
  EXPECT_THAT(mismatch.message, HasSubstr("not the pinned " + other)) << mismatch.message;
  EXPECT_THAT(mismatch.message, HasSubstr(digest)) << mismatch.message;
  EXPECT_TRUE(children_of_us().empty()) << "nothing was started: " << describe(children_of_us());

  // A script, even with its right digest: its interpreter would read it again by name.
  const std::string script = runtime.path() + "/script-plugin";
  {
    std::ofstream out(script);
    out << "#!/bin/sh\nexec " << test_plugin << " \"$@\"\n";
  }
  ::chmod(script.c_str(), 0700);
  PluginLaunch scripted = launch_of({});
  scripted.argv[0] = script;
  scripted.sha256 = sha256_hex_of_file(script);
  const Refusal script_refusal = refusal_of(std::move(scripted));
  EXPECT_THAT(script_refusal.message, HasSubstr("script")) << script_refusal.message;
  ::unlink(script.c_str());

  PluginLaunch not_hex = launch_of({});
  not_hex.sha256 = "abc";
  EXPECT_THROW(PluginProcess{std::move(not_hex)}, UsageError);
  figure("a pinned program: runs with its SHA-256; another digest refused in " + fixed(mismatch.ms) +
         " ms with nothing started; a #! script refused");
  expect_no_leftover_files();
}

// ---- launches that cannot work --------------------------------------------------------------------------

TEST_F(PluginProcessTest, ALaunchThatCannotWorkIsAUsageErrorAndStartsNothing) {
  const auto refused = [](PluginLaunch launch) -> std::string {
    try {
      PluginProcess plugin(std::move(launch));
    } catch (const UsageError& e) {
      return e.what();
    }
    return "started";
  };
  PluginLaunch no_argv = launch_of({});
  no_argv.argv.clear();
  EXPECT_THAT(refused(no_argv), HasSubstr("argv"));
  PluginLaunch no_versions = launch_of({});
  no_versions.versions.clear();
  EXPECT_THAT(refused(no_versions), HasSubstr("no protocol version"));
  PluginLaunch own_auth = launch_of({});
  own_auth.client_options.auth = {"plain", {{"username", "a"}, {"password", "b"}}};
  EXPECT_THAT(refused(own_auth), HasSubstr("client_options.auth"));
  for (const std::string& taken : {std::string(plugin_env::versions) + "=9", std::string(plugin_env::client_key) + "=x",
                                  cookie.key + "=other"}) {
    PluginLaunch overriding = launch_of({});
    overriding.environment = {taken};
    EXPECT_THAT(refused(overriding), HasSubstr("is the host's to set")) << taken;
  }
  EXPECT_TRUE(children_of_us().empty()) << describe(children_of_us());
  expect_no_leftover_files();
}

// ---- 10. tcp -----------------------------------------------------------------------------------------------

TEST_F(PluginProcessTest, TheTcpTransportWorks) {
  auto launch = launch_of({});
  launch.transports = {PluginTransport::tcp};
  PluginProcess plugin(std::move(launch));
  EXPECT_EQ(plugin.endpoint().rfind("tcp://127.0.0.1:", 0), 0u) << plugin.endpoint();
  EXPECT_EQ(plugin.handshake().transport, PluginTransport::tcp);
  EXPECT_EQ(plugin.client().call<std::string>("echo", "over tcp"), "over tcp");
  const std::string endpoint = plugin.endpoint();
  EXPECT_EQ(plugin.close().status(), 0);
  figure("tcp transport: " + endpoint + ", calls answered, exit 0");
  expect_no_leftover_files();
}

TEST_F(PluginProcessTest, AHandshakeOnStandardOutputIsTakenToo) {
  // A plugin that ignores PSEUD_PLUGIN_HANDSHAKE_FD, as go-plugin's do.
  OutputLines output;
  PluginProcess plugin(launch_of({"--raw", "--on-stdout"}, &output));
  EXPECT_EQ(plugin.client().call<std::string>("echo", "via stdout"), "via stdout");
  const PluginExit exit = plugin.close();
  EXPECT_EQ(exit.status(), 0) << exit.describe();
  EXPECT_FALSE(output.saw(PluginStream::stdout_stream, "|pseud|")) << "the handshake is no output line" << output.dump();
  figure("handshake line on stdout (hand-made plugin): loaded, " + exit.describe());
  expect_no_leftover_files();
}

// ---- 11. refused handshakes, a plugin that exits, a start timeout --------------------------------------------

TEST_F(PluginProcessTest, AGoPluginHandshakeIsRefusedNamingGrpc) {
  Refusal on_fd = refusal_of(launch_of({"--handshake-line", "1|1|tcp|127.0.0.1:1234|grpc|MIIBkTCB+wIJAKHHIG4sMHyX"}));
  EXPECT_THAT(on_fd.message, HasSubstr("grpc"));
  EXPECT_TRUE(children_of_us().empty()) << describe(children_of_us());
  Refusal on_stdout = refusal_of(launch_of({"--handshake-line", "1|1|unix|/tmp/plugin1|netrpc|", "--on-stdout"}));
  EXPECT_THAT(on_stdout.message, HasSubstr("netrpc"));
  EXPECT_TRUE(children_of_us().empty()) << describe(children_of_us());
  Refusal rpcplugin = refusal_of(launch_of({"--handshake-line", "1|1|tcp|127.0.0.1:1234", "--on-stdout"}));
  EXPECT_FALSE(rpcplugin.message.empty());
  EXPECT_TRUE(children_of_us().empty()) << describe(children_of_us());
  std::cout << "  " << on_fd.message << "\n  " << on_stdout.message << "\n  " << rpcplugin.message << std::endl;
  figure("go-plugin grpc line: PluginError in " + fixed(on_fd.ms) + " ms; netrpc on stdout: " + fixed(on_stdout.ms) +
         " ms; rpcplugin line: " + fixed(rpcplugin.ms) + " ms; plugin gone each time");
  expect_no_leftover_files();
}

TEST_F(PluginProcessTest, AVersionTheHostDidNotOfferIsRefused) {
  const std::string line = "1|3|tcp|127.0.0.1:1234|pseud|" + generate_curve_keypair().public_key;
  const Refusal refusal = refusal_of(launch_of({"--handshake-line", line}));
  EXPECT_THAT(refusal.message, HasSubstr("3"));
  EXPECT_TRUE(children_of_us().empty()) << describe(children_of_us());
  const Refusal off_loopback =
      refusal_of(launch_of({"--handshake-line", "1|1|tcp|10.0.0.1:80|pseud|" + generate_curve_keypair().public_key}));
  EXPECT_THAT(off_loopback.message, HasSubstr("10.0.0.1"));
  EXPECT_TRUE(children_of_us().empty()) << describe(children_of_us());
  std::cout << "  " << refusal.message << "\n  " << off_loopback.message << std::endl;
  figure("handshake naming version 3 to a host of {1,2}: PluginError in " + fixed(refusal.ms) +
         " ms; tcp off loopback: " + fixed(off_loopback.ms) + " ms");
  expect_no_leftover_files();
}

TEST_F(PluginProcessTest, AnAddressNoClientCanUseIsAPluginError) {
  const std::string key = generate_curve_keypair().public_key;
  // Longer than a unix socket address can be (108 bytes with its NUL).
  auto too_long = launch_of({"--handshake-line", "1|1|unix|/" + std::string(200, 'x') + "/plugin.sock|pseud|" + key});
  too_long.start_timeout = 2000ms;
  const Refusal long_path = refusal_of(std::move(too_long));
  EXPECT_FALSE(long_path.message.empty());
  EXPECT_TRUE(children_of_us().empty()) << describe(children_of_us());
  // A fine path where nothing listens: no answer to the health check in time.
  auto nobody = launch_of({"--handshake-line", "1|1|unix|" + runtime.path() + "/nobody.sock|pseud|" + key});
  nobody.start_timeout = 1000ms;
  const Refusal no_listener = refusal_of(std::move(nobody));
  EXPECT_FALSE(no_listener.message.empty());
  EXPECT_GE(no_listener.ms, 900.0);
  EXPECT_LE(no_listener.ms, 1500.0 * slowdown);
  EXPECT_TRUE(children_of_us().empty()) << describe(children_of_us());
  std::cout << "  " << long_path.message << "\n  " << no_listener.message << std::endl;
  figure("a 220-byte unix path: PluginError in " + fixed(long_path.ms) + " ms; nothing listening, start timeout 1 s: " +
         fixed(no_listener.ms) + " ms");
  expect_no_leftover_files();
}

TEST_F(PluginProcessTest, APluginExitingBeforeItsHandshakeIsReportedWithStatusAndStderr) {
  const Refusal refusal = refusal_of(launch_of({"--exit-before-handshake", "7"}));
  EXPECT_THAT(refusal.message, HasSubstr("7"));
  EXPECT_THAT(refusal.message, HasSubstr("exit status 7"));
  EXPECT_THAT(refusal.message, HasSubstr("leaving before the handshake"));
  EXPECT_LT(refusal.ms, 1000.0 * slowdown);
  EXPECT_TRUE(children_of_us().empty()) << describe(children_of_us());
  std::cout << "  " << refusal.message << std::endl;
  figure("a plugin exiting 7 before its handshake: PluginError in " + fixed(refusal.ms) +
         " ms with its status and stderr line");
  expect_no_leftover_files();
}

TEST_F(PluginProcessTest, AProgramThatCannotRunIsAPluginError) {
  PluginLaunch launch = launch_of({});
  launch.argv = {runtime.path() + "/no-such-plugin"};
  const Refusal refusal = refusal_of(std::move(launch));
  EXPECT_FALSE(refusal.message.empty());
  EXPECT_LT(refusal.ms, 1000.0 * slowdown);
  EXPECT_TRUE(children_of_us().empty()) << describe(children_of_us());
  std::cout << "  " << refusal.message << std::endl;
  figure("a plugin path that does not exist: PluginError in " + fixed(refusal.ms) + " ms");
  expect_no_leftover_files();
}

TEST_F(PluginProcessTest, ASilentPluginIsAStartTimeoutAndIsGone) {
  auto launch = launch_of({"--handshake-line", ""});
  launch.start_timeout = 300ms;
  const Refusal refusal = refusal_of(std::move(launch));
  EXPECT_FALSE(refusal.message.empty());
  EXPECT_GE(refusal.ms, 300.0 * 0.9);
  EXPECT_LE(refusal.ms, 300.0 * 1.5 * slowdown);
  const auto left = children_of_us();
  EXPECT_TRUE(left.empty()) << "the plugin is stopped and reaped before the error:" << describe(left);
  std::cout << "  " << refusal.message << std::endl;
  figure("a plugin that never writes its line, start timeout 300 ms: PluginError after " + fixed(refusal.ms) +
         " ms, plugin gone");
  expect_no_leftover_files();
}

}  // namespace
}  // namespace pseud::test
