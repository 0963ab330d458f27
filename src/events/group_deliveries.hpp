#pragma once
// Layer 6 (events): group-mode events at the hub: waiting for a free member
// (a backlog per group, bounded in count and bytes), sent and waiting for
// their ACK (each with a deadline), and failed ones waiting out their
// backoff before the next try. Hub thread only.

#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <zmq.hpp>

namespace pseud::detail {

struct GroupEvent {
  std::string id;
  std::string type;
  std::string group;
  zmq::message_t packed;  // the event as encode_event packed it; copies share its bytes
  int attempts = 0;       // deliveries so far
  std::string last_member;  // who had it last: a retry goes elsewhere where it can
  std::size_t bytes = 0;
};

struct GroupLimits {
  std::size_t max_backlog = 100000;
  std::size_t max_backlog_bytes = 64 * 1024 * 1024;
  std::chrono::milliseconds ack_timeout{2000};
  int retries = 3;
  std::chrono::milliseconds retry_backoff{50};
};

class GroupDeliveries {
 public:
  using Clock = std::chrono::steady_clock;
  /// What a failed delivery became.
  struct Failed {
    GroupEvent event;   // whole when dead; otherwise without its bytes (they wait for the retry)
    bool dead = false;  // out of retries: for the dead-letter hook
  };

  explicit GroupDeliveries(GroupLimits limits) : limits_(limits) {}

  /// False (the event dropped) when its group's backlog is full.
  bool enqueue(GroupEvent event);
  /// Sends what the members can take: `pick(event)` names a member's routing
  /// id (empty: none free now); `send(routing_id, event)` hands it over
  /// (false: that connection is full, the event waits). Oldest first per group.
  std::size_t dispatch(Clock::time_point now, const std::function<std::string(const GroupEvent&)>& pick,
                       const std::function<bool(const std::string&, const GroupEvent&)>& send);
  /// An ACK from `member`: true when it settles a delivery of ours.
  bool acknowledge(const std::string& event_id, const std::string& group, const std::string& member);
  /// A NACK from `member`, or its silence: the delivery is retried or dead.
  std::optional<Failed> refuse(const std::string& event_id, const std::string& group, const std::string& member,
                               Clock::time_point now);
  /// Deliveries past their ACK deadline, failed.
  std::vector<Failed> expire(Clock::time_point now);
  /// Every delivery held by `member`, failed (it left).
  std::vector<Failed> member_gone(const std::string& member, Clock::time_point now);
  /// Moves the retries whose backoff is over back to the front of their backlogs.
  void release_retries(Clock::time_point now);
  /// Ends a group's waiting events that nobody can take any more (no member left); returned dead.
  std::vector<GroupEvent> abandon_group(const std::string& group);

  std::optional<Clock::time_point> next_deadline() const;
  std::size_t backlog() const noexcept { return backlog_count_; }
  std::size_t in_flight() const noexcept { return in_flight_.size(); }
  std::vector<std::string> groups_waiting() const;

 private:
  struct InFlight {
    GroupEvent event;
    std::string member;
    Clock::time_point deadline;
  };
  static std::string key_of(const std::string& event_id, const std::string& group) { return event_id + '|' + group; }
  Failed fail(GroupEvent event, Clock::time_point now);
  void push_front(GroupEvent event);

  const GroupLimits limits_;
  std::unordered_map<std::string, std::deque<GroupEvent>> backlog_;  // by group; no empty deque kept
  std::size_t backlog_count_ = 0;
  std::size_t backlog_bytes_ = 0;
  std::unordered_map<std::string, InFlight> in_flight_;  // by key_of
  std::multimap<Clock::time_point, GroupEvent> retries_;   // by when they may go again
};

}  // namespace pseud::detail
