// Layer 4 (engine): the notification outbox (see notification_outbox.hpp).

#include "engine/notification_outbox.hpp"

#include <algorithm>

namespace pseud::detail {

namespace {

// What one waiting notification costs besides its bytes: its entry and the
// bookkeeping around it, so that a flood of empty ones is bounded too.
constexpr std::size_t entry_overhead = sizeof(Notification) + 32;

}  // namespace

NotificationOutbox::PutResult NotificationOutbox::put(const std::string& destination, Notification notification,
                                                      Clock::time_point now) {
  notification.bytes = notification.body.size() + notification.function.size() + destination.size() + entry_overhead;
  if (options_.ttl) notification.expires = now + *options_.ttl;
  const std::size_t bytes = notification.bytes;
  const std::lock_guard lock(mutex_);
  auto queue = queues_.find(destination);
  const std::size_t queued = queue == queues_.end() ? 0 : queue->second.items.size();
  const std::size_t queued_bytes = queue == queues_.end() ? 0 : queue->second.bytes;
  const std::size_t others = size_ - queued;  // what the other destinations hold
  const std::size_t others_bytes = bytes_ - queued_bytes;
  const auto fits = [&](std::size_t count, std::size_t count_bytes) {
    return count + 1 <= options_.max_messages_per_destination &&
           count_bytes + bytes <= options_.max_bytes_per_destination && others + count + 1 <= options_.max_messages &&
           others_bytes + count_bytes + bytes <= options_.max_bytes;
  };
  std::size_t dropped = 0;
  if (!fits(queued, queued_bytes)) {
    if (options_.overflow == OutboxOverflow::fail) return {Put::refused, 0};
    // drop_oldest takes room from this destination only: another peer's
    // traffic never pushes this one's out. When even an empty queue would
    // not make room, the new one goes instead.
    if (options_.overflow == OutboxOverflow::drop_new || !fits(0, 0)) return {Put::dropped, 1};
    while (!fits(queue->second.items.size(), queue->second.bytes)) {
      pop_front(queue);
      ++dropped;
    }
  }
  Queue& target = queues_[destination];  // pop_front may have erased the queue it emptied
  target.bytes += bytes;
  target.items.push_back(std::move(notification));
  ++size_;
  bytes_ += bytes;
  return {dropped == 0 ? Put::queued : Put::queued_dropping_oldest, dropped};
}

void NotificationOutbox::pop_front(std::unordered_map<std::string, Queue>::iterator queue) {
  Queue& q = queue->second;
  const std::size_t bytes = q.items.front().bytes;
  q.items.pop_front();
  q.bytes -= bytes;
  --size_;
  bytes_ -= bytes;
  if (q.items.empty()) queues_.erase(queue);
}

std::size_t NotificationOutbox::send_in_order(
    const std::function<Sent(const std::string& destination, Notification&)>& send, std::size_t budget) {
  const std::lock_guard lock(mutex_);
  std::size_t sent = 0;
  for (auto queue = queues_.begin(); queue != queues_.end() && sent < budget;) {
    auto next = std::next(queue);
    while (sent < budget) {
      if (send(queue->first, queue->second.items.front()) == Sent::not_now) break;
      ++sent;
      const bool last = queue->second.items.size() == 1;
      pop_front(queue);
      if (last) break;  // the queue was erased with its last notification
    }
    queue = next;
  }
  return sent;
}

std::size_t NotificationOutbox::expire(Clock::time_point now) {
  const std::lock_guard lock(mutex_);
  std::size_t expired = 0;
  for (auto queue = queues_.begin(); queue != queues_.end();) {
    auto next = std::next(queue);
    // One time to live for all: each queue's oldest expires first.
    while (true) {
      if (queue->second.items.front().expires > now) break;
      ++expired;
      const bool last = queue->second.items.size() == 1;
      pop_front(queue);
      if (last) break;
    }
    queue = next;
  }
  return expired;
}

std::optional<NotificationOutbox::Clock::time_point> NotificationOutbox::next_expiry() const {
  if (!options_.ttl) return std::nullopt;
  const std::lock_guard lock(mutex_);
  std::optional<Clock::time_point> next;
  for (const auto& [destination, queue] : queues_) {
    const auto at = queue.items.front().expires;
    if (!next || at < *next) next = at;
  }
  return next;
}

std::size_t NotificationOutbox::clear() {
  const std::lock_guard lock(mutex_);
  const std::size_t dropped = size_;
  queues_.clear();
  size_ = 0;
  bytes_ = 0;
  return dropped;
}

std::size_t NotificationOutbox::size() const {
  const std::lock_guard lock(mutex_);
  return size_;
}

std::size_t NotificationOutbox::bytes() const {
  const std::lock_guard lock(mutex_);
  return bytes_;
}

std::size_t NotificationOutbox::size_for(const std::string& destination) const {
  const std::lock_guard lock(mutex_);
  const auto queue = queues_.find(destination);
  return queue == queues_.end() ? 0 : queue->second.items.size();
}

}  // namespace pseud::detail
