#pragma once
// Layer 6 (events): an EventSubscriber's thread and its DEALER socket to the
// hub. The thread gets tickets through the client's calls, subscribes,
// pings, runs the handlers one at a time and answers group deliveries;
// subscribe() on other threads waits for the hub's verdict.

#include <atomic>
#include <chrono>
#include <exception>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <zmq.hpp>

#include "engine/command_queue.hpp"
#include "events/dedup_window.hpp"
#include "events/topic_pattern.hpp"
#include "pseud/events.hpp"

namespace pseud::detail {

class EventSubscriberCore {
 public:
  using Clock = std::chrono::steady_clock;
  using Handler = EventSubscriber::Handler;

  EventSubscriberCore(Client& client, EventSubscriberOptions options);
  ~EventSubscriberCore();
  EventSubscriberCore(const EventSubscriberCore&) = delete;
  EventSubscriberCore& operator=(const EventSubscriberCore&) = delete;

  void subscribe(std::string_view pattern, Handler handler, DeliveryMode mode);
  EventSubscriberStats stats() const;
  void stop();

 private:
  struct Local {
    std::uint64_t serial;  // to take it back when the hub refuses it
    TopicPattern pattern;
    std::string group;
    Handler handler;
  };
  using Locals = std::vector<Local>;
  struct SubscribeRequest {
    std::shared_ptr<std::promise<void>> done;
  };

  void run();
  void start_subscription(Clock::time_point now);
  void connect_socket(const std::string& endpoint, const std::string& server_key);
  void drain_socket(Clock::time_point now);
  void on_event(const std::string& group, std::string_view packed);
  void answer(std::string_view kind, const std::string& event_id, const std::string& group, std::string_view why);
  void hub_lost(const char* why, Clock::time_point now);
  void finish_waiters(std::exception_ptr error);
  void send(std::string_view kind, std::string_view body = {});
  std::shared_ptr<const Locals> locals();
  Clock::time_point next_wake(Clock::time_point now) const;

  Client* client_;
  const EventSubscriberOptions options_;
  std::shared_ptr<zmq::context_t> context_;

  std::mutex mutex_;  // guards locals_
  std::shared_ptr<const Locals> locals_ = std::make_shared<Locals>();
  std::uint64_t next_serial_ = 0;
  CommandQueue<SubscribeRequest> queue_;

  // The thread's
  std::optional<zmq::socket_t> socket_;
  std::string endpoint_;
  std::vector<std::shared_ptr<std::promise<void>>> waiters_;         // of the SUB awaiting its verdict
  std::vector<std::shared_ptr<std::promise<void>>> next_waiters_;    // ... of the next SUB
  bool want_subscription_ = false;
  bool awaiting_welcome_ = false;
  bool admitted_ = false;
  bool in_background_ = false;  // resubscribing after losing the hub: failures are retried, not reported
  Clock::time_point welcome_deadline_{};
  Clock::time_point next_ping_{};
  Clock::time_point last_heard_{};
  Clock::time_point retry_at_{};
  DedupWindow seen_;

  struct Counters {
    std::atomic<std::uint64_t> received{0}, handled{0}, duplicates{0}, handler_errors{0}, resubscribed{0};
  };
  Counters counters_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace pseud::detail
