#pragma once
// Layer 6 (events): the subscribers an EventHub has admitted, by the routing
// id of their connection to its socket, with their subscriptions. Bounded by
// EventHubOptions (subscribers, subscriptions each). Hub thread only.

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "events/topic_pattern.hpp"

namespace pseud::detail {

struct HubMember {
  using Clock = std::chrono::steady_clock;
  struct Subscription {
    TopicPattern pattern;
    std::string group;  // empty: broadcast
  };
  std::string routing_id;
  std::string holder;  // who the ticket was issued to
  std::vector<Subscription> subscriptions;
  Clock::time_point last_heard;
  std::size_t unacked = 0;  // group deliveries sent and not answered

  bool wants_broadcast(std::string_view type) const;
  bool in_group_for(std::string_view group, std::string_view type) const;
};

class HubMembers {
 public:
  using Clock = HubMember::Clock;

  HubMember* find(std::string_view routing_id);
  /// Adds or replaces the member behind `routing_id`.
  HubMember& admit(HubMember member);
  void remove(std::string_view routing_id);
  std::size_t size() const noexcept { return members_.size(); }

  /// Routing ids of members silent since before `cutoff`.
  std::vector<std::string> silent_since(Clock::time_point cutoff) const;
  /// The groups with at least one member subscribed to `type` in them.
  std::vector<std::string> groups_for(std::string_view type) const;
  template <class Visit>
  void for_each(Visit&& visit) {
    for (auto& [id, member] : members_) visit(member);
  }

 private:
  std::unordered_map<std::string, HubMember> members_;
};

}  // namespace pseud::detail
