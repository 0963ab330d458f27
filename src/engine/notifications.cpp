// Layer 4 (engine): notifications: WORK messages whose reply nobody awaits,
// waiting in the outbox (notification_outbox.hpp) until their destination
// can take them, sent in order, and followed until answered only to count
// the ones that failed.

#include <zmq.h>

#include "engine/engine.hpp"
#include "engine/engine_util.hpp"

namespace pseud::detail {

namespace {

// Notifications sent in one pass before the engine looks at its sockets again.
constexpr std::size_t flush_budget = 1000;
// A destination that is not connected is tried again when a peer joins, and
// at this pace besides, should a join go unannounced.
constexpr auto unreachable_retry = std::chrono::milliseconds(200);

}  // namespace

bool Engine::notify(OutgoingCall&& call) {
  if (observer_->watching()) {
    // Asked now; counted and timed from when it leaves the outbox (follow_notification).
    const CallInfo info{CallDirection::outgoing, call.function, call.destination, {}, Clock::now(), std::nullopt};
    if (std::exception_ptr refusal = observer_->ask(info)) {
      observer_->refused(info, detail::describe_declared(refusal).name);
      std::rethrow_exception(refusal);
    }
  }
  if (auto refusal = refuse_to_send(call)) std::rethrow_exception(refusal);
  if (stop_requested_.load()) {
    throw PeerStoppedError("notify '" + call.function + "' to " + in_quotes(call.destination) +
                           ": the peer is stopped");
  }
  Notification notification{call.function, to_message(std::move(call.body))};
  const auto result = notifications_.put(call.destination, std::move(notification), Clock::now());
  switch (result.outcome) {
    case NotificationOutbox::Put::refused:
      throw OutboxFullError("notify '" + call.function + "' to " + in_quotes(call.destination) +
                            ": the outbox is full (" + std::to_string(notifications_.size_for(call.destination)) +
                            " waiting for this destination, " + std::to_string(notifications_.size()) +
                            " in all); nothing was queued. The destination is not taking them: raise the limits "
                            "of PeerOptions::outbox, or set its overflow to drop_oldest or drop_new");
    case NotificationOutbox::Put::dropped:
      counters_.notifications_dropped.fetch_add(result.dropped, std::memory_order_relaxed);
      return false;
    case NotificationOutbox::Put::queued_dropping_oldest:
      counters_.notifications_dropped.fetch_add(result.dropped, std::memory_order_relaxed);
      break;
    case NotificationOutbox::Put::queued: break;
  }
  if (!notifications_put_.exchange(true)) queue_.wake();
  return true;
}

bool Engine::notifications_due(Clock::time_point now) const {
  return notifications_put_.load(std::memory_order_relaxed) || notification_retry_.load() || next_notification_try_ <= now;
}

void Engine::flush_notifications() {
  notifications_put_.store(false);  // before sending: a put from now on wakes the engine again
  notification_retry_.store(false);
  const auto now = Clock::now();
  if (const std::size_t expired = notifications_.expire(now); expired > 0) {
    counters_.notifications_expired.fetch_add(expired, std::memory_order_relaxed);
    log(LogLevel::warning, "pseud: ", expired,
        " notification(s) expired before their destination could take them (OutboxOptions::ttl)");
  }
  bool queue_full = false;
  const std::size_t sent = notifications_.send_in_order(
      [&](const std::string& destination, Notification& notification) {
        return send_notification(destination, notification, queue_full);
      },
      flush_budget);
  if (notifications_.size() == 0) {
    next_notification_try_ = Clock::time_point::max();
  } else if (sent == flush_budget) {
    next_notification_try_ = now;  // more to send: after a look at the sockets
  } else {
    // A full connection queue drains as its peer reads (no event says so);
    // a peer that is not connected announces itself when it joins.
    next_notification_try_ = now + (queue_full ? PendingCalls::retry_interval : unreachable_retry);
    if (const auto expiry = notifications_.next_expiry(); expiry && *expiry < next_notification_try_) {
      next_notification_try_ = *expiry;
    }
  }
  announce_notifications();
}

NotificationOutbox::Sent Engine::send_notification(const std::string& destination, Notification& notification,
                                                   bool& queue_full) {
  if (stopping_ || notifications_unanswered_.load() >= options_.outbox.max_unanswered) {
    return NotificationOutbox::Sent::not_now;  // an answer coming back starts the next pass
  }
  const std::string routing_id = resolve(destination);
  if (routing_id.empty() || awaits_handshake(routing_id)) return NotificationOutbox::Sent::not_now;
  const MessageId id = MessageId::generate();
  const int error = send_message(routing_id, id.view(), wire::MessageType::work, notification.body);
  if (error == EAGAIN) queue_full = true;
  if (error == EAGAIN || error == EHOSTUNREACH) return NotificationOutbox::Sent::not_now;
  if (error != 0) {
    // Not one the destination could take later: counted, and the next one goes.
    counters_.notifications_failed.fetch_add(1, std::memory_order_relaxed);
    log(LogLevel::warning, "pseud: notification '", notification.function, "' to ", in_quotes(destination),
        " could not be sent: ", zmq_strerror(error));
    return NotificationOutbox::Sent::yes;
  }
  counters_.notifications_sent.fetch_add(1, std::memory_order_relaxed);
  follow_notification(id, destination, notification.function);
  return NotificationOutbox::Sent::yes;
}

void Engine::follow_notification(const MessageId& id, const std::string& destination, const std::string& function) {
  // Followed as a call, so that its OK is expected (not counted as a stray
  // reply) and an ERROR, a timeout or the peer leaving counts it as failed.
  const auto now = Clock::now();
  PendingCall pending;
  pending.destination = destination;
  address(pending);
  pending.function = function;
  pending.timeout = options_.default_timeout;
  pending.deadline = now + pending.timeout;
  pending.started = now;
  pending.on_reply = [this](msgpack::object_handle*, std::exception_ptr error) { notification_settled(error != nullptr); };
  if (observer_->watching()) {
    const CallInfo info{CallDirection::outgoing, function, destination, {}, now, std::nullopt};
    pending.on_reply = observed_completion(observer_, info, observer_->begin(info), std::move(pending.on_reply));
  }
  notifications_unanswered_.fetch_add(1);
  calls_.add(id, std::move(pending));
}

void Engine::notification_settled(bool failed) {
  if (failed) counters_.notifications_failed.fetch_add(1, std::memory_order_relaxed);
  if (notifications_unanswered_.fetch_sub(1) == options_.outbox.max_unanswered) notification_retry_.store(true);
  announce_notifications();
}

void Engine::announce_notifications() {
  if (notification_waiters_.load() == 0) return;
  { const std::lock_guard lock(notification_mutex_); }  // a waiter between its check and its sleep sees this one
  notification_changed_.notify_all();
}

bool Engine::notifications_settled(bool answered) const {
  // The outbox first: a notification is counted unanswered before it leaves
  // the outbox, so read the other way round one in between looks settled.
  return notifications_.size() == 0 && (!answered || notifications_unanswered_.load() == 0);
}

bool Engine::wait_for_notifications(Clock::time_point deadline, bool answered) {
  notification_waiters_.fetch_add(1);
  std::unique_lock lock(notification_mutex_);
  notification_changed_.wait_until(lock, deadline,
                                   [&] { return notifications_settled(answered) || engine_ended_.load(); });
  notification_waiters_.fetch_sub(1);
  return notifications_settled(answered);
}

void Engine::abandon_notifications() {
  if (const std::size_t left = notifications_.clear(); left > 0) {
    counters_.notifications_abandoned.fetch_add(left, std::memory_order_relaxed);
    log(LogLevel::warning, "pseud: stopped with ", left,
        " notification(s) never sent; they are lost (a longer grace in stop(grace) gives them time)");
  }
}

}  // namespace pseud::detail
