// Layer 6 (events): group-mode deliveries at the hub (group_deliveries.hpp).

#include "events/group_deliveries.hpp"

#include <algorithm>

namespace pseud::detail {

bool GroupDeliveries::enqueue(GroupEvent event) {
  if (backlog_count_ + 1 > limits_.max_backlog || backlog_bytes_ + event.bytes > limits_.max_backlog_bytes) {
    return false;
  }
  backlog_count_ += 1;
  backlog_bytes_ += event.bytes;
  std::string group = event.group;
  backlog_[std::move(group)].push_back(std::move(event));
  return true;
}

void GroupDeliveries::push_front(GroupEvent event) {
  // Retries come back ahead of newer events and are never refused for room:
  // they were admitted once, and the bound holds them already counted.
  backlog_count_ += 1;
  backlog_bytes_ += event.bytes;
  std::string group = event.group;
  backlog_[std::move(group)].push_front(std::move(event));
}

std::size_t GroupDeliveries::dispatch(Clock::time_point now, const std::function<std::string(const GroupEvent&)>& pick,
                                      const std::function<bool(const std::string&, const GroupEvent&)>& send) {
  std::size_t sent = 0;
  for (auto group = backlog_.begin(); group != backlog_.end();) {
    auto& queue = group->second;
    while (!queue.empty()) {
      GroupEvent& event = queue.front();
      const std::string member = pick(event);
      if (member.empty() || !send(member, event)) break;
      ++sent;
      event.attempts += 1;
      event.last_member = member;
      backlog_count_ -= 1;
      backlog_bytes_ -= event.bytes;
      const std::string key = key_of(event.id, event.group);
      in_flight_[key] = InFlight{std::move(event), member, now + limits_.ack_timeout};
      queue.pop_front();
    }
    group = queue.empty() ? backlog_.erase(group) : std::next(group);
  }
  return sent;
}

bool GroupDeliveries::acknowledge(const std::string& event_id, const std::string& group, const std::string& member) {
  const auto it = in_flight_.find(key_of(event_id, group));
  // A late ACK from a member the event has since moved away from settles nothing.
  if (it == in_flight_.end() || it->second.member != member) return false;
  in_flight_.erase(it);
  return true;
}

std::optional<GroupDeliveries::Failed> GroupDeliveries::refuse(const std::string& event_id, const std::string& group,
                                                               const std::string& member, Clock::time_point now) {
  const auto it = in_flight_.find(key_of(event_id, group));
  if (it == in_flight_.end() || it->second.member != member) return std::nullopt;
  GroupEvent event = std::move(it->second.event);
  in_flight_.erase(it);
  return fail(std::move(event), now);
}

GroupDeliveries::Failed GroupDeliveries::fail(GroupEvent event, Clock::time_point now) {
  if (event.attempts > limits_.retries) return Failed{std::move(event), true};
  const auto backoff = limits_.retry_backoff * (1 << std::min(event.attempts - 1, 16));
  Failed retried{GroupEvent{event.id, event.type, event.group, {}, event.attempts, event.last_member, 0}, false};
  retries_.emplace(now + backoff, std::move(event));
  return retried;
}

std::vector<GroupDeliveries::Failed> GroupDeliveries::expire(Clock::time_point now) {
  std::vector<Failed> failed;
  for (auto it = in_flight_.begin(); it != in_flight_.end();) {
    if (it->second.deadline <= now) {
      failed.push_back(fail(std::move(it->second.event), now));
      it = in_flight_.erase(it);
    } else {
      ++it;
    }
  }
  return failed;
}

std::vector<GroupDeliveries::Failed> GroupDeliveries::member_gone(const std::string& member, Clock::time_point now) {
  std::vector<Failed> failed;
  for (auto it = in_flight_.begin(); it != in_flight_.end();) {
    if (it->second.member == member) {
      failed.push_back(fail(std::move(it->second.event), now));
      it = in_flight_.erase(it);
    } else {
      ++it;
    }
  }
  return failed;
}

void GroupDeliveries::release_retries(Clock::time_point now) {
  // Newest due first, each pushed to the front: the oldest ends up first.
  std::vector<GroupEvent> due;
  while (!retries_.empty() && retries_.begin()->first <= now) {
    due.push_back(std::move(retries_.begin()->second));
    retries_.erase(retries_.begin());
  }
  for (auto it = due.rbegin(); it != due.rend(); ++it) push_front(std::move(*it));
}

std::vector<GroupEvent> GroupDeliveries::abandon_group(const std::string& group) {
  std::vector<GroupEvent> dead;
  const auto it = backlog_.find(group);
  if (it == backlog_.end()) return dead;
  for (GroupEvent& event : it->second) {
    backlog_count_ -= 1;
    backlog_bytes_ -= event.bytes;
    dead.push_back(std::move(event));
  }
  backlog_.erase(it);
  return dead;
}

std::optional<GroupDeliveries::Clock::time_point> GroupDeliveries::next_deadline() const {
  std::optional<Clock::time_point> next;
  if (!retries_.empty()) next = retries_.begin()->first;
  for (const auto& [key, flight] : in_flight_) {
    if (!next || flight.deadline < *next) next = flight.deadline;
  }
  return next;
}

std::vector<std::string> GroupDeliveries::groups_waiting() const {
  std::vector<std::string> groups;
  for (const auto& [group, queue] : backlog_) groups.push_back(group);
  return groups;
}

}  // namespace pseud::detail
