#pragma once
// Layer 4 (engine): who may touch the engine's state, its router socket
// included, from which thread, and when.
//
// The engine thread holds the state lock all the time except while it waits
// in poll and while it runs a reply's completion. In those windows, and only
// then, another thread may take the lock to send a call or a handler's reply
// itself: the message leaves without waking the engine. Other threads only
// ever try_lock: when the engine is busy they go through its command queue
// instead, so nobody but the engine thread ever waits for the lock.
//
// Whoever sends on the router under the lock must, before letting go, check
// whether the send swallowed the notification the waiting engine polls for
// (see Engine::run()); and the engine publishes here when its poll times
// out, so that a caller setting a sooner deadline knows to wake it.

#include <chrono>
#include <mutex>
#include <utility>

namespace pseud::detail {

class StateGuard {
 public:
  using Clock = std::chrono::steady_clock;

  // --- The engine thread only -------------------------------------------

  /// Takes the lock for the engine thread's run.
  void engine_start() { hold_.lock(); }
  /// Lets go of it when the run ends.
  void engine_finish() noexcept {
    if (hold_.owns_lock()) hold_.unlock();
  }

  /// Runs `wait` (the poll) with the lock released, having published that it
  /// returns by `until` at the latest; returns what `wait` returns.
  template <class Wait>
  auto engine_wait(Clock::time_point until, Wait&& wait) {
    planned_wake_ = until;
    Released released(hold_);
    return std::forward<Wait>(wait)();
  }

  /// Runs `run` (a reply's completion) with the lock released: a blocking
  /// caller it wakes, often on this very core, sends its next call at once
  /// and must not find the lock held, or that call costs another wake-up.
  template <class Run>
  void engine_release_while(Run&& run) {
    Released released(hold_);
    std::forward<Run>(run)();
  }

  /// From a handler or a completion on the engine thread: the lock, taken
  /// again only if engine_release_while let go of it (else an empty lock:
  /// the engine thread holds it already).
  std::unique_lock<std::mutex> engine_reenter() {
    std::unique_lock<std::mutex> lock(mutex_, std::defer_lock);
    if (!hold_.owns_lock()) lock.lock();
    return lock;
  }

  /// Whether the engine thread holds the lock now (false inside engine_wait
  /// and engine_release_while). Engine thread only.
  bool engine_holds() const noexcept { return hold_.owns_lock(); }

  // --- Any other thread --------------------------------------------------

  /// The lock if the engine is waiting or running a completion; an empty
  /// lock when it is busy (then go through the command queue).
  std::unique_lock<std::mutex> try_enter() { return std::unique_lock<std::mutex>(mutex_, std::try_to_lock); }

  /// When the waiting engine's poll times out; read under the lock.
  Clock::time_point planned_wake() const noexcept { return planned_wake_; }

 private:
  // Lets go of the engine's hold for a scope, and takes it back after.
  class Released {
   public:
    explicit Released(std::unique_lock<std::mutex>& hold) : hold_(hold) { hold_.unlock(); }
    ~Released() { hold_.lock(); }
    Released(const Released&) = delete;
    Released& operator=(const Released&) = delete;

   private:
    std::unique_lock<std::mutex>& hold_;
  };

  std::mutex mutex_;
  std::unique_lock<std::mutex> hold_{mutex_, std::defer_lock};  // the engine thread's, touched by it alone
  Clock::time_point planned_wake_ = Clock::time_point::max();   // written by the engine before it lets go
};

}  // namespace pseud::detail
