#pragma once
// Layer 7 (discovery): a stop request that background threads check and
// wait on, so that stopping one never waits out a sleep.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>

namespace pseud::detail::discovery {

class StopSignal {
 public:
  void stop() noexcept {
    {
      std::lock_guard lock(mutex_);
      stopped_.store(true);
    }
    wake_.notify_all();
  }

  bool stopped() const noexcept { return stopped_.load(); }

  /// The flag itself, for code that polls it (an HTTP transfer).
  const std::atomic<bool>& flag() const noexcept { return stopped_; }

  /// Waits `duration` or until stop(); true when stopped.
  template <class Rep, class Period>
  bool wait_for(std::chrono::duration<Rep, Period> duration) {
    std::unique_lock lock(mutex_);
    return wake_.wait_for(lock, duration, [&] { return stopped_.load(); });
  }

 private:
  std::atomic<bool> stopped_{false};
  std::mutex mutex_;
  std::condition_variable wake_;
};

}  // namespace pseud::detail::discovery
