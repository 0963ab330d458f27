// Layer 6 (events): an EventHub's admitted subscribers (hub_members.hpp).

#include "events/hub_members.hpp"

#include <algorithm>

namespace pseud::detail {

bool HubMember::wants_broadcast(std::string_view type) const {
  return std::any_of(subscriptions.begin(), subscriptions.end(),
                     [&](const Subscription& s) { return s.group.empty() && s.pattern.matches(type); });
}

bool HubMember::in_group_for(std::string_view group, std::string_view type) const {
  return std::any_of(subscriptions.begin(), subscriptions.end(),
                     [&](const Subscription& s) { return s.group == group && s.pattern.matches(type); });
}

HubMember* HubMembers::find(std::string_view routing_id) {
  const auto it = members_.find(std::string(routing_id));
  return it == members_.end() ? nullptr : &it->second;
}

HubMember& HubMembers::admit(HubMember member) {
  std::string id = member.routing_id;
  auto& slot = members_[std::move(id)];
  slot = std::move(member);
  return slot;
}

void HubMembers::remove(std::string_view routing_id) { members_.erase(std::string(routing_id)); }

std::vector<std::string> HubMembers::silent_since(Clock::time_point cutoff) const {
  std::vector<std::string> silent;
  for (const auto& [id, member] : members_) {
    if (member.last_heard < cutoff) silent.push_back(id);
  }
  return silent;
}

std::vector<std::string> HubMembers::groups_for(std::string_view type) const {
  std::vector<std::string> groups;
  for (const auto& [id, member] : members_) {
    for (const auto& s : member.subscriptions) {
      if (s.group.empty() || std::find(groups.begin(), groups.end(), s.group) != groups.end()) continue;
      if (s.pattern.matches(type)) groups.push_back(s.group);
    }
  }
  return groups;
}

}  // namespace pseud::detail
