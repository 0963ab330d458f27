#pragma once
// Layer 4 (engine): notifications waiting for their destination, one FIFO
// per destination, bounded per destination and in all, in count and in bytes
// (OutboxOptions). Any thread puts; the engine thread sends from the front.
// Its own lock, taken after the engine's state lock and never before it.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include <zmq.hpp>

#include "pseud/peer_options.hpp"

namespace pseud::detail {

struct Notification {
  using Clock = std::chrono::steady_clock;
  std::string function;
  zmq::message_t body;  // the packed WORK body
  Clock::time_point expires = Clock::time_point::max();
  std::size_t bytes = 0;  // what it counts against the limits; set by put()
};

class NotificationOutbox {
 public:
  using Clock = Notification::Clock;

  enum class Put {
    queued,
    queued_dropping_oldest,  // queued; the destination's oldest ones made room (see dropped)
    dropped,                 // not queued (drop_new, or too large to ever fit)
    refused,                 // not queued (fail)
  };
  struct PutResult {
    Put outcome;
    std::size_t dropped = 0;  // notifications dropped, this one included when not queued
  };
  /// What the sender did with the front notification.
  enum class Sent { yes, not_now };

  explicit NotificationOutbox(const OutboxOptions& options) : options_(options) {}

  PutResult put(const std::string& destination, Notification notification, Clock::time_point now);

  /// Hands each destination's notifications to `send`, oldest first, until it
  /// answers not_now (that destination then waits) or `budget` were sent.
  /// Returns how many were sent. Called under the outbox's lock: `send` must
  /// not call back into the outbox.
  std::size_t send_in_order(const std::function<Sent(const std::string& destination, Notification&)>& send,
                            std::size_t budget);
  /// Drops what waited past its time to live; returns how many.
  std::size_t expire(Clock::time_point now);
  /// When the next notification expires; nullopt when none can.
  std::optional<Clock::time_point> next_expiry() const;
  /// Empties the outbox (the peer stops); returns how many were dropped.
  std::size_t clear();

  std::size_t size() const;
  std::size_t bytes() const;
  std::size_t size_for(const std::string& destination) const;

 private:
  struct Queue {
    std::deque<Notification> items;
    std::size_t bytes = 0;
  };
  void pop_front(std::unordered_map<std::string, Queue>::iterator queue);

  const OutboxOptions options_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Queue> queues_;  // no empty queue is kept
  std::size_t size_ = 0;
  std::size_t bytes_ = 0;
};

}  // namespace pseud::detail
