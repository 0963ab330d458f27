#pragma once
// Layer 5 (peer): the hooks a graceful stop runs (Peer::on_stopping), and
// the lock that makes a second Peer::stop(grace) wait for the first instead
// of starting over. Bounded: at most max_hooks hooks.

#include <cstddef>
#include <functional>
#include <mutex>
#include <vector>

namespace pseud::detail {

class StopSequence {
 public:
  static constexpr std::size_t max_hooks = 64;

  /// Adds `hook`; throws UsageError for an empty one or beyond max_hooks.
  void add_hook(std::function<void()> hook);
  /// Runs the hooks once, in the order they were added, on this thread; an
  /// exception a hook throws is logged and the next hook runs.
  void run_hooks();
  /// Held for the whole of a graceful stop.
  std::mutex& serial() noexcept { return serial_; }

 private:
  std::mutex mutex_;
  std::vector<std::function<void()>> hooks_;
  bool ran_ = false;
  std::mutex serial_;
};

}  // namespace pseud::detail
