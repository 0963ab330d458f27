#include "plugin_process/child_supervisor.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>

#include "plugin_process/line_splitter.hpp"
#include "pseud/errors.hpp"

namespace pseud::detail {

namespace {

constexpr std::size_t max_line = 4096;
constexpr std::size_t stderr_tail_lines = 5;
// Once the plugin has exited and its group is killed, its pipes close at
// once, unless something that left the group holds them: read that long.
constexpr auto drain_after_exit = std::chrono::milliseconds(200);

PluginExit exit_of(const siginfo_t& info) {
  PluginExit result;
  result.exited = info.si_code == CLD_EXITED;
  (result.exited ? result.code : result.signal) = info.si_status;
  return result;
}

}  // namespace

ChildSupervisor::ChildSupervisor(ChildPlan plan, OutputSink output) : output_(std::move(output)) {
  std::promise<void> launched;
  auto started = launched.get_future();
  thread_ = std::thread([this, plan = std::move(plan), &launched]() mutable { run(std::move(plan), launched); });
  try {
    started.get();
  } catch (...) {
    thread_.join();
    throw;
  }
}

ChildSupervisor::~ChildSupervisor() {
  signal_group(SIGKILL);
  if (thread_.joinable()) thread_.join();
}

void ChildSupervisor::run(ChildPlan plan, std::promise<void>& launched) {
  LaunchedChild child;
  try {
    child = launch_child(plan);
  } catch (...) {
    launched.set_exception(std::current_exception());
    return;
  }
  pid_ = child.pid;
  launched.set_value();  // `launched` is gone after this: the constructor returns
  supervise(child);
}

void ChildSupervisor::take_line(PluginStream stream, std::string_view line) {
  {
    std::lock_guard lock(mutex_);
    if (stream == PluginStream::stdout_stream && !handshake_ && looks_like_plugin_handshake(line)) {
      handshake_ = std::string(line);  // a plugin that ignores PSEUD_PLUGIN_HANDSHAKE_FD
      changed_.notify_all();
      return;
    }
    if (stream == PluginStream::stderr_stream) {
      stderr_tail_.emplace_back(line);
      if (stderr_tail_.size() > stderr_tail_lines) stderr_tail_.pop_front();
    }
  }
  if (output_) output_(stream, line);
}

void ChildSupervisor::supervise(LaunchedChild& child) {
  LineSplitter handshake_lines(max_line);
  LineSplitter stdout_lines(max_line);
  LineSplitter stderr_lines(max_line);
  std::optional<Clock::time_point> drain_until;
  std::array<char, 16384> buffer{};

  auto on_handshake_line = [this, &child](std::string_view line) {
    std::lock_guard lock(mutex_);
    if (!handshake_) handshake_ = std::string(line);
    changed_.notify_all();
    child.handshake_read.reset();  // one line is all it may say there
  };
  auto on_stdout = [this](std::string_view line) { take_line(PluginStream::stdout_stream, line); };
  auto on_stderr = [this](std::string_view line) { take_line(PluginStream::stderr_stream, line); };

  struct Source {
    UniqueFd* fd;
    LineSplitter* lines;
    LineSplitter::Sink sink;
  };
  Source sources[] = {{&child.handshake_read, &handshake_lines, on_handshake_line},
                      {&child.stdout_read, &stdout_lines, on_stdout},
                      {&child.stderr_read, &stderr_lines, on_stderr}};

  while (true) {
    std::array<pollfd, 4> polled{};
    std::array<Source*, 4> polled_source{};
    std::size_t count = 0;
    for (auto& source : sources)
      if (*source.fd) {
        polled[count] = {source.fd->get(), POLLIN, 0};
        polled_source[count++] = &source;
      }
    const bool reaped = drain_until.has_value();
    if (!reaped) polled[count++] = {child.pidfd.get(), POLLIN, 0};
    if (count == 0) break;
    int timeout = -1;
    if (reaped) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*drain_until - Clock::now()).count();
      if (left <= 0) break;
      timeout = static_cast<int>(left);
    }
    if (::poll(polled.data(), count, timeout) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (std::size_t i = 0; i < count; ++i) {
      if (polled[i].revents == 0) continue;
      if (polled[i].fd == child.pidfd.get()) {
        reap(child);
        drain_until = Clock::now() + drain_after_exit;
        continue;
      }
      Source& source = *polled_source[i];
      if (!*source.fd) continue;  // closed by a line taken above
      const ssize_t n = ::read(source.fd->get(), buffer.data(), buffer.size());
      if (n > 0) {
        source.lines->feed(std::string_view(buffer.data(), static_cast<std::size_t>(n)), source.sink);
      } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
        source.lines->finish(source.sink);
        source.fd->reset();
      }
    }
  }
  if (!drain_until) reap(child);  // every pipe closed before the exit was seen
  std::lock_guard lock(mutex_);
  changed_.notify_all();
}

void ChildSupervisor::reap(LaunchedChild& child) {
  // Still a zombie here: its pid, and so its group id, cannot be reused yet.
  // The lock keeps signal_group() from signalling between the reap and exit_.
  std::lock_guard lock(mutex_);
  ::kill(-child.pid, SIGKILL);  // whatever is left in its group (grandchildren)
  siginfo_t info{};
  while (::waitid(P_PID, static_cast<id_t>(child.pid), &info, WEXITED) < 0 && errno == EINTR) {
  }
  exit_ = exit_of(info);
  changed_.notify_all();
}

std::optional<std::string> ChildSupervisor::wait_handshake(Clock::time_point deadline) {
  std::unique_lock lock(mutex_);
  changed_.wait_until(lock, deadline, [&] { return handshake_.has_value() || exit_.has_value(); });
  return handshake_;
}

std::optional<PluginExit> ChildSupervisor::wait_exit(Clock::time_point deadline) {
  std::unique_lock lock(mutex_);
  changed_.wait_until(lock, deadline, [&] { return exit_.has_value(); });
  return exit_;
}

void ChildSupervisor::signal_group(int signal_number) {
  std::lock_guard lock(mutex_);
  if (!exit_ && pid_ > 0) ::kill(-pid_, signal_number);
}

bool ChildSupervisor::exited() const {
  std::lock_guard lock(mutex_);
  return exit_.has_value();
}

std::vector<std::string> ChildSupervisor::last_stderr_lines() const {
  std::lock_guard lock(mutex_);
  return {stderr_tail_.begin(), stderr_tail_.end()};
}

}  // namespace pseud::detail
