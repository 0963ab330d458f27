#pragma once
// Layer 4 (engine): the requests this peer accepted and has not answered
// yet, so that a graceful stop (Peer::stop with a grace period) can wait for
// their replies to be sent. A request is held while it waits for, or runs
// on, a worker, while its ReplyChannel is open, and while its reply waits in
// the engine's queue; a request answered at once on the engine thread is
// never held. Holds are released from any thread, and may outlive the
// engine (a ReplyChannel may): they share the counter.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>

namespace pseud::detail {

class InFlightRequests : public std::enable_shared_from_this<InFlightRequests> {
 public:
  using Clock = std::chrono::steady_clock;

  /// One accepted request; released when destroyed.
  class Hold {
   public:
    explicit Hold(std::shared_ptr<InFlightRequests> owner) noexcept : owner_(std::move(owner)) {}
    ~Hold() { owner_->release(); }
    Hold(const Hold&) = delete;
    Hold& operator=(const Hold&) = delete;

   private:
    std::shared_ptr<InFlightRequests> owner_;
  };

  /// Holds one more request until the returned hold is destroyed.
  std::shared_ptr<Hold> hold();
  /// Requests held now.
  std::size_t count() const noexcept { return count_.load(std::memory_order_acquire); }
  /// Waits until no request is held, `deadline` passes or interrupt() is
  /// called; true when none is held.
  bool wait_idle(Clock::time_point deadline);
  /// Ends every wait_idle now and from now on (the peer stops at once).
  void interrupt();

 private:
  void release() noexcept;

  std::atomic<std::size_t> count_{0};
  std::mutex mutex_;
  std::condition_variable idle_;
  bool interrupted_ = false;
};

using RequestHold = std::shared_ptr<InFlightRequests::Hold>;

}  // namespace pseud::detail
