#include "engine/peer_table.hpp"

#include <algorithm>

namespace pseud::detail {

PeerTable::Peer* PeerTable::find(std::string_view routing_id) noexcept {
  auto it = peers_.find(routing_id);
  return it == peers_.end() ? nullptr : &it->second;
}

const PeerTable::Peer* PeerTable::find(std::string_view routing_id) const noexcept {
  auto it = peers_.find(routing_id);
  return it == peers_.end() ? nullptr : &it->second;
}

PeerTable::Peer& PeerTable::join(std::string_view routing_id, const std::string& user, bool may_ping,
                                 Clock::time_point now) {
  if (!recently_gone_.empty()) recently_gone_.erase(std::string(routing_id));
  Peer peer;
  peer.state.routing_id.assign(routing_id);
  peer.state.user_id = user;
  peer.state.joined = now;
  peer.state.last_sent = now;
  peer.state.last_heard = now;
  peer.state.may_ping = may_ping;
  const auto it = peers_.insert_or_assign(std::string(routing_id), std::move(peer)).first;
  {
    std::lock_guard lock(mirror_mutex_);
    mirror_.insert_or_assign(it->first, PeerInfo{it->first, user});
  }
  return it->second;
}

void PeerTable::announce(Peer& peer, std::string_view announced_routing_id) {
  peer.announced = true;
  std::lock_guard lock(mirror_mutex_);
  if (auto it = mirror_.find(peer.state.routing_id); it != mirror_.end()) {
    it->second.announced_routing_id.assign(announced_routing_id);
  }
}

void PeerTable::speaks_through(Peer& peer, int fd) {
  if (fd < 0 || fd == peer.fd) return;
  disown(peer.fd, peer.state.routing_id);
  peer.fd = fd;
  fd_owners_.insert_or_assign(fd, peer.state.routing_id);
}

std::optional<PeerState> PeerTable::remove(std::string_view routing_id, Clock::time_point now) {
  auto it = peers_.find(routing_id);
  if (it == peers_.end()) return std::nullopt;
  std::optional<PeerState> state(std::move(it->second.state));
  disown(it->second.fd, it->first);
  peers_.erase(it);
  {
    std::lock_guard lock(mirror_mutex_);
    mirror_.erase(state->routing_id);
  }
  std::erase_if(user_routes_, [&](const auto& route) { return route.second == state->routing_id; });
  forget_expired(now);
  recently_gone_.insert_or_assign(state->routing_id, now + gone_memory);
  gone_expiry_.emplace_back(now + gone_memory, state->routing_id);
  return state;
}

bool PeerTable::recently_gone(std::string_view routing_id, Clock::time_point now) const {
  if (recently_gone_.empty()) return false;
  const auto it = recently_gone_.find(routing_id);
  return it != recently_gone_.end() && now < it->second;
}

const std::string* PeerTable::owner_of(int fd) const noexcept {
  auto it = fd_owners_.find(fd);
  return it == fd_owners_.end() ? nullptr : &it->second;
}

void PeerTable::route_user(std::string_view user, std::string_view routing_id) {
  if (user.empty() || routing_id.empty()) return;
  auto it = user_routes_.find(user);
  if (it == user_routes_.end()) {
    user_routes_.emplace(std::string(user), std::string(routing_id));
  } else if (it->second != routing_id) {
    it->second.assign(routing_id);
  }
}

const std::string* PeerTable::route_of(std::string_view user) const noexcept {
  auto it = user_routes_.find(user);
  return it == user_routes_.end() ? nullptr : &it->second;
}

void PeerTable::for_each(const std::function<void(const PeerState&)>& visit) const {
  for (const auto& [routing_id, peer] : peers_) visit(peer.state);
}

std::vector<PeerInfo> PeerTable::snapshot() const {
  std::lock_guard lock(mirror_mutex_);
  std::vector<PeerInfo> peers;
  peers.reserve(mirror_.size());
  for (const auto& [routing_id, info] : mirror_) peers.push_back(info);
  return peers;
}

void PeerTable::disown(int fd, std::string_view routing_id) {
  // Only if it is still this peer's: the number may already belong to a newer connection.
  if (auto owner = fd_owners_.find(fd); owner != fd_owners_.end() && owner->second == routing_id) {
    fd_owners_.erase(owner);
  }
}

void PeerTable::forget_expired(Clock::time_point now) {
  while (!gone_expiry_.empty() && gone_expiry_.front().first <= now) {
    auto it = recently_gone_.find(gone_expiry_.front().second);
    if (it != recently_gone_.end() && it->second <= now) recently_gone_.erase(it);
    gone_expiry_.pop_front();
  }
}

}  // namespace pseud::detail
