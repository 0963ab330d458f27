// Layer 7 (discovery): a watch's own callback thread, with coalesced wake-ups.
#include "discovery/watch_notifier.hpp"

#include <condition_variable>
#include <exception>
#include <mutex>

#include "log.hpp"

namespace pseud::detail::discovery {

struct WatchNotifier::State {
  Snapshot snapshot;
  Callback on_change;
  std::mutex mutex;
  std::condition_variable wake;
  bool dirty = true;  // deliver the first set at once
  bool stopping = false;

  void run() {
    std::vector<InstanceRecord> last;
    bool delivered = false;
    std::unique_lock lock(mutex);
    while (true) {
      wake.wait(lock, [&] { return stopping || dirty; });
      if (stopping) return;
      dirty = false;
      lock.unlock();
      try {
        auto now = snapshot();
        if (!delivered || now != last) {
          last = std::move(now);
          delivered = true;
          on_change(last);
        }
      } catch (const std::exception& e) {
        log(LogLevel::error, "discovery: a watch callback threw: ", e.what());
      } catch (...) {
        log(LogLevel::error, "discovery: a watch callback threw a non-standard exception");
      }
      lock.lock();
    }
  }
};

WatchNotifier::WatchNotifier(Snapshot snapshot, Callback on_change) : state_(std::make_shared<State>()) {
  state_->snapshot = std::move(snapshot);
  state_->on_change = std::move(on_change);
  thread_ = std::thread([state = state_] { state->run(); });
}

WatchNotifier::~WatchNotifier() {
  {
    std::lock_guard lock(state_->mutex);
    state_->stopping = true;
  }
  state_->wake.notify_all();
  if (thread_.get_id() == std::this_thread::get_id()) {
    thread_.detach();  // destroyed by its own callback: the thread ends when it returns
  } else {
    thread_.join();
  }
}

void WatchNotifier::poke() noexcept {
  {
    std::lock_guard lock(state_->mutex);
    state_->dirty = true;
  }
  state_->wake.notify_all();
}

}  // namespace pseud::detail::discovery
