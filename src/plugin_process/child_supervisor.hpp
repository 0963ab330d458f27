#pragma once
// The thread that owns one plugin process from fork to reap. It forks it (so
// that PR_SET_PDEATHSIG, bound to the forking thread, fires exactly when the
// host goes), reads its handshake descriptor, stdout and stderr line by line,
// notices its exit through a pidfd, kills what is left of its process group
// and reaps it. Other threads wait on it and signal the group through it,
// never after the reap, so a recycled pid is never signalled.

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "plugin_process/child_launch.hpp"
#include "pseud/plugin_host.hpp"

namespace pseud::detail {

class ChildSupervisor {
 public:
  using Clock = std::chrono::steady_clock;
  using OutputSink = std::function<void(PluginStream stream, std::string_view line)>;

  /// Starts the thread, which launches the child. Throws PluginError when the
  /// launch fails.
  ChildSupervisor(ChildPlan plan, OutputSink output);
  /// Kills the group if the child still runs, and waits for the reap.
  ~ChildSupervisor();
  ChildSupervisor(const ChildSupervisor&) = delete;
  ChildSupervisor& operator=(const ChildSupervisor&) = delete;

  pid_t pid() const noexcept { return pid_; }

  /// The first line on the handshake descriptor, or a handshake-shaped line on
  /// stdout; nothing when the child exited first or `deadline` passed.
  std::optional<std::string> wait_handshake(Clock::time_point deadline);
  /// How the child ended, once it has been reaped (waits until `deadline`).
  std::optional<PluginExit> wait_exit(Clock::time_point deadline);
  /// Sends `signal_number` to the child's process group unless it has been reaped.
  void signal_group(int signal_number);
  bool exited() const;
  /// Its last lines on stderr (at most 5), oldest first.
  std::vector<std::string> last_stderr_lines() const;

 private:
  void run(ChildPlan plan, std::promise<void>& launched);
  void supervise(LaunchedChild& child);
  void take_line(PluginStream stream, std::string_view line);
  void reap(LaunchedChild& child);

  OutputSink output_;
  pid_t pid_ = -1;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::optional<std::string> handshake_;
  std::optional<PluginExit> exit_;
  std::deque<std::string> stderr_tail_;
  std::thread thread_;
};

}  // namespace pseud::detail
