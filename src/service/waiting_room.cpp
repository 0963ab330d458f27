#include "service/waiting_room.hpp"

#include <algorithm>
#include <utility>

namespace pseud::detail {

namespace {

WaitingRoom::Clock::time_point deadline_of(const CallAttempt& attempt) {
  return attempt.call.options.deadline.value_or(WaitingRoom::Clock::time_point::max());
}

}  // namespace

bool WaitingRoom::add(std::shared_ptr<CallAttempt> attempt) {
  const std::size_t size = attempt->call.body.size();
  if (waiting_.size() >= max_calls_ || bytes_ + size > max_bytes_) return false;
  bytes_ += size;
  waiting_.push_back(std::move(attempt));
  return true;
}

std::vector<std::shared_ptr<CallAttempt>> WaitingRoom::take_all() {
  std::vector<std::shared_ptr<CallAttempt>> all(std::make_move_iterator(waiting_.begin()),
                                                std::make_move_iterator(waiting_.end()));
  waiting_.clear();
  bytes_ = 0;
  return all;
}

std::vector<std::shared_ptr<CallAttempt>> WaitingRoom::take_due(Clock::time_point now) {
  std::vector<std::shared_ptr<CallAttempt>> due;
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    const CallAttempt& attempt = **it;
    if (deadline_of(attempt) > now && !attempt.call.options.stop.stop_requested()) {
      ++it;
      continue;
    }
    bytes_ -= attempt.call.body.size();
    due.push_back(std::move(*it));
    it = waiting_.erase(it);
  }
  return due;
}

std::optional<WaitingRoom::Clock::time_point> WaitingRoom::next_deadline() const {
  std::optional<Clock::time_point> next;
  for (const auto& attempt : waiting_) {
    const auto at = deadline_of(*attempt);
    if (!next || at < *next) next = at;
  }
  return next;
}

}  // namespace pseud::detail
