#pragma once
// Layer 5 (service): calls that wait for a live instance, bounded in count
// and bytes, each until its deadline. No threads: the owner takes what is
// due and what may go. Callers hold their own lock.

#include <chrono>
#include <cstddef>
#include <deque>
#include <memory>
#include <optional>
#include <vector>

#include "service/call_attempt.hpp"

namespace pseud::detail {

class WaitingRoom {
 public:
  using Clock = std::chrono::steady_clock;

  WaitingRoom(std::size_t max_calls, std::size_t max_bytes) : max_calls_(max_calls), max_bytes_(max_bytes) {}

  /// Keeps `attempt` until take_all() or its deadline; false (not kept) when full.
  bool add(std::shared_ptr<CallAttempt> attempt);
  /// Every waiting call, in arrival order (an instance came up).
  std::vector<std::shared_ptr<CallAttempt>> take_all();
  /// The calls whose deadline is past at `now`, or that were cancelled.
  std::vector<std::shared_ptr<CallAttempt>> take_due(Clock::time_point now);
  /// The earliest deadline, if any call waits.
  std::optional<Clock::time_point> next_deadline() const;
  std::size_t size() const noexcept { return waiting_.size(); }
  std::size_t bytes() const noexcept { return bytes_; }

 private:
  const std::size_t max_calls_;
  const std::size_t max_bytes_;
  std::deque<std::shared_ptr<CallAttempt>> waiting_;
  std::size_t bytes_ = 0;
};

}  // namespace pseud::detail
