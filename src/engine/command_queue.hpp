#pragma once
// Layer 4 (engine): how other threads hand work to the engine thread. A
// mutex-guarded batch plus an eventfd the engine polls next to its sockets;
// the fd is written only when the batch goes from empty to non-empty, so a
// burst of posts costs one wake-up.

#include <mutex>
#include <vector>

namespace pseud::detail {

/// Creates a non-blocking eventfd; throws std::system_error on failure.
int make_wakeup_fd();
void signal_wakeup_fd(int fd) noexcept;
void clear_wakeup_fd(int fd) noexcept;
void close_wakeup_fd(int fd) noexcept;

template <class Command>
class CommandQueue {
 public:
  CommandQueue();
  ~CommandQueue();
  CommandQueue(const CommandQueue&) = delete;
  CommandQueue& operator=(const CommandQueue&) = delete;

  /// Queues `command`; returns false (dropping it) once the queue is closed.
  bool push(Command&& command);
  /// Moves every queued command into `out` (which it clears first) and resets the wake-up.
  void take_all(std::vector<Command>& out);
  /// True when nothing is queued.
  bool empty();
  /// Wakes the engine without a command.
  void wake() noexcept { signal_wakeup_fd(fd_); }
  /// Refuses further pushes; returns what was still queued.
  std::vector<Command> close();
  /// The eventfd to poll for readability.
  int fd() const noexcept { return fd_; }

 private:
  int fd_;
  std::mutex mutex_;
  std::vector<Command> queue_;
  bool closed_ = false;
};

template <class Command>
CommandQueue<Command>::CommandQueue() : fd_(make_wakeup_fd()) {}

template <class Command>
CommandQueue<Command>::~CommandQueue() {
  close_wakeup_fd(fd_);
}

template <class Command>
bool CommandQueue<Command>::push(Command&& command) {
  bool wake;
  {
    std::lock_guard lock(mutex_);
    if (closed_) return false;
    wake = queue_.empty();
    queue_.push_back(std::move(command));
  }
  if (wake) signal_wakeup_fd(fd_);
  return true;
}

template <class Command>
void CommandQueue<Command>::take_all(std::vector<Command>& out) {
  out.clear();
  clear_wakeup_fd(fd_);
  std::lock_guard lock(mutex_);
  out.swap(queue_);
}

template <class Command>
bool CommandQueue<Command>::empty() {
  std::lock_guard lock(mutex_);
  return queue_.empty();
}

template <class Command>
std::vector<Command> CommandQueue<Command>::close() {
  std::lock_guard lock(mutex_);
  closed_ = true;
  return std::move(queue_);
}

}  // namespace pseud::detail
