#include "engine/pending_calls.hpp"

namespace pseud::detail {

void PendingCalls::add(const MessageId& id, PendingCall call) {
  deadlines_.push(Deadline{call.deadline, id});
  calls_.insert_or_assign(id, std::move(call));
  count_.store(calls_.size(), std::memory_order_relaxed);
}

PendingCall* PendingCalls::find(const MessageId& id) noexcept {
  auto it = calls_.find(id);
  return it == calls_.end() ? nullptr : &it->second;
}

std::optional<PendingCall> PendingCalls::take(const MessageId& id) {
  auto it = calls_.find(id);
  if (it == calls_.end()) return std::nullopt;
  std::optional<PendingCall> call(std::move(it->second));
  calls_.erase(it);
  // At a high call rate with long timeouts, stale deadlines would pile up.
  if (deadlines_.size() > 2 * calls_.size() + 1024) rebuild_deadlines();
  count_.store(calls_.size(), std::memory_order_relaxed);
  call->cancel.reset();
  return call;
}

std::optional<MessageId> PendingCalls::next_expired(Clock::time_point now) {
  while (!deadlines_.empty() && deadlines_.top().at <= now) {
    const Deadline due = deadlines_.top();
    deadlines_.pop();
    // A stale entry: the call was taken (or its id reused with another deadline).
    if (auto it = calls_.find(due.id); it != calls_.end() && it->second.deadline == due.at) return due.id;
  }
  return std::nullopt;
}

std::optional<PendingCalls::Clock::time_point> PendingCalls::next_deadline() const noexcept {
  if (deadlines_.empty()) return std::nullopt;
  return deadlines_.top().at;
}

std::vector<MessageId> PendingCalls::select(const std::function<bool(const PendingCall&)>& pick) const {
  std::vector<MessageId> ids;
  for (const auto& [id, call] : calls_) {
    if (pick(call)) ids.push_back(id);
  }
  return ids;
}

std::optional<MessageId> PendingCalls::any() const noexcept {
  if (calls_.empty()) return std::nullopt;
  return calls_.begin()->first;
}

void PendingCalls::park(const MessageId& id, Clock::time_point now) {
  parked_.push_back(id);
  next_retry_ = now + retry_interval;
}

std::optional<PendingCalls::Clock::time_point> PendingCalls::next_retry() const noexcept {
  if (parked_.empty()) return std::nullopt;
  return next_retry_;
}

std::vector<MessageId> PendingCalls::take_parked() noexcept { return std::exchange(parked_, {}); }

void PendingCalls::unpark_failed(std::vector<MessageId> still, Clock::time_point now) {
  still.insert(still.end(), parked_.begin(), parked_.end());
  parked_ = std::move(still);
  next_retry_ = now + retry_interval;
}

void PendingCalls::rebuild_deadlines() {
  std::vector<Deadline> live;
  live.reserve(calls_.size());
  for (const auto& [id, call] : calls_) live.push_back(Deadline{call.deadline, id});
  deadlines_ = decltype(deadlines_)(std::greater<>{}, std::move(live));
}

}  // namespace pseud::detail
