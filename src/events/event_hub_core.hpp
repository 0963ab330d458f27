#pragma once
// Layer 6 (events): an EventHub's thread and its ROUTER socket. Other threads
// hand it emitted events through a command queue; everything else (members,
// group deliveries, timers) lives on its thread.

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <zmq.hpp>

#include "engine/command_queue.hpp"
#include "events/group_deliveries.hpp"
#include "events/hub_members.hpp"
#include "events/ticket_book.hpp"
#include "pseud/events.hpp"

namespace pseud::detail {

class EventHubCore {
 public:
  using Clock = std::chrono::steady_clock;

  EventHubCore(std::string source, EventHubOptions options);
  ~EventHubCore();
  EventHubCore(const EventHubCore&) = delete;
  EventHubCore& operator=(const EventHubCore&) = delete;

  const std::string& endpoint() const noexcept { return endpoint_; }
  const std::string& public_key() const noexcept { return public_key_; }
  TicketBook& tickets() noexcept { return tickets_; }
  const EventHubOptions& options() const noexcept { return options_; }

  std::string emit(std::string_view type, std::string_view packed_body, std::map<std::string, std::string> headers,
                   std::string source);
  EventHubStats stats() const;
  void stop();

 private:
  struct Emitted {
    std::string id;
    std::string type;
    zmq::message_t packed;
  };

  void run();
  void drain_socket();
  void handle(const std::string& sender, std::string_view kind, std::string_view body, Clock::time_point now);
  void admit(const std::string& sender, std::string_view body, Clock::time_point now);
  void deny(const std::string& sender, const std::string& why);
  void on_answer(const std::string& sender, std::string_view body, bool refused, Clock::time_point now);
  void route(Emitted& event);
  void dispatch_groups(Clock::time_point now);
  void run_timers(Clock::time_point now);
  void drop_member(const std::string& routing_id, Clock::time_point now);
  void settle(std::vector<GroupDeliveries::Failed> failed);
  void dead_letter(const GroupEvent& event, const std::string& why);
  /// Sends `kind` (and the frames after it) to `routing_id` without waiting; 0 or errno.
  int send(const std::string& routing_id, std::string_view kind, std::vector<zmq::message_t> rest = {});
  Clock::time_point next_wake(Clock::time_point now) const;

  const std::string source_;
  const EventHubOptions options_;
  std::shared_ptr<zmq::context_t> context_;
  zmq::socket_t socket_;
  std::string endpoint_;
  std::string public_key_;
  TicketBook tickets_;
  CommandQueue<Emitted> queue_;
  std::atomic<std::size_t> queued_bytes_{0};

  // The hub thread's
  HubMembers members_;
  GroupDeliveries groups_;
  std::size_t round_robin_ = 0;
  Clock::time_point next_liveness_check_{};

  struct Counters {
    std::atomic<std::uint64_t> emitted{0}, broadcast_sent{0}, broadcast_dropped{0}, group_sent{0}, group_acked{0},
        group_retried{0}, dead_lettered{0}, group_dropped{0}, unmatched{0}, subscriptions_refused{0},
        malformed_messages{0};
    std::atomic<std::size_t> subscribers{0}, group_backlog{0};
  };
  Counters counters_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace pseud::detail
