#pragma once
// Layer 7 (discovery): the thread that delivers a watch's callbacks: when
// poked, it reads the current set and calls back if the set changed.

#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "pseud/discovery.hpp"

namespace pseud::detail::discovery {

class WatchNotifier {
 public:
  /// Reads the watched set now (called on the notifier's thread, with no lock of its own held).
  using Snapshot = std::function<std::vector<InstanceRecord>()>;
  using Callback = std::function<void(const std::vector<InstanceRecord>&)>;

  /// Starts the thread; the first set is delivered at once.
  WatchNotifier(Snapshot snapshot, Callback on_change);
  /// Stops the thread, waiting for a running callback (unless called from
  /// that callback: then the thread ends when the callback returns).
  ~WatchNotifier();
  WatchNotifier(const WatchNotifier&) = delete;
  WatchNotifier& operator=(const WatchNotifier&) = delete;

  /// The set may have changed: read it again soon. Cheap; callable under any lock.
  void poke() noexcept;

 private:
  struct State;
  std::shared_ptr<State> state_;
  std::thread thread_;
};

}  // namespace pseud::detail::discovery
