// Layer 4 (engine): the connected, authenticated peers, their join and gone
// events, and what a heartbeat backend may do with them.

#include <zmq.h>

#include "engine/engine.hpp"
#include "engine/engine_util.hpp"

namespace pseud::detail {

void Engine::note_peer(std::string_view routing_id, const std::string& user, int fd, bool heartbeat, bool is_req) {
  if (fd >= 0) {
    auto owner = fd_owners_.find(fd);
    if (owner != fd_owners_.end() && owner->second != routing_id) {
      // The descriptor number was reused: the connection that had it closed,
      // and its DISCONNECTED event is queued by now. Take it before this
      // peer's messages, so the late event cannot hit the new connection.
      drain_monitor();
      owner = fd_owners_.find(fd);
      if (owner != fd_owners_.end() && owner->second != routing_id) {
        const std::string previous = owner->second;
        peer_gone(previous, "its connection closed");
      }
    }
  }
  const auto now = Clock::now();
  auto it = peers_.find(routing_id);
  if (it == peers_.end()) {
    if (!recently_gone_.empty()) recently_gone_.erase(std::string(routing_id));
    ConnectedPeer peer;
    peer.state.routing_id.assign(routing_id);
    peer.state.user_id = user;
    peer.state.joined = now;
    peer.state.last_sent = now;
    peer.state.may_ping = !is_req;
    it = peers_.emplace(std::string(routing_id), std::move(peer)).first;
    const PeerInfo info{it->second.state.routing_id, user};
    {
      std::lock_guard lock(peers_mirror_mutex_);
      peers_mirror_.emplace(info.routing_id, info);
    }
    log(LogLevel::info, "pseud: peer '", printable(routing_id), "' joined",
        user.empty() ? std::string() : " as user '" + printable(user) + "'");
    if (options_.on_peer_joined) {
      try {
        options_.on_peer_joined(info);
      } catch (const std::exception& e) {
        log(LogLevel::error, "pseud: on_peer_joined threw: ", e.what());
      }
    }
  }
  PeerState& state = it->second.state;
  state.last_heard = now;
  if (fd >= 0 && fd != it->second.fd) {
    disown_fd(it->second.fd, routing_id);
    it->second.fd = fd;
    fd_owners_.insert_or_assign(fd, it->first);
  }
  if (heartbeat) state.sends_heartbeats = true;
  heartbeat_->handle_heartbeat(*this, state);
}

void Engine::peer_gone(std::string_view routing_id, std::string_view reason) {
  auto it = peers_.find(routing_id);
  if (it == peers_.end()) return;
  const PeerState state = std::move(it->second.state);
  disown_fd(it->second.fd, routing_id);
  peers_.erase(it);
  {
    std::lock_guard lock(peers_mirror_mutex_);
    peers_mirror_.erase(state.routing_id);
  }
  std::erase_if(user_routes_, [&](const auto& route) { return route.second == state.routing_id; });
  remember_gone(state.routing_id, Clock::now());
  auth_->forget(state.routing_id);
  heartbeat_->handle_timeout(*this, state);
  log(LogLevel::info, "pseud: peer '", printable(state.routing_id), "' is gone: ", reason);
  fail_calls_to(state.routing_id, false, Failure::gone,
                "peer " + in_quotes(printable(state.routing_id)) + " is gone (" + std::string(reason) +
                    ") before the reply arrived; the call may or may not have run");
  if (options_.on_peer_gone) {
    try {
      options_.on_peer_gone(PeerInfo{state.routing_id, state.user_id}, std::string(reason));
    } catch (const std::exception& e) {
      log(LogLevel::error, "pseud: on_peer_gone threw: ", e.what());
    }
  }
}

void Engine::disown_fd(int fd, std::string_view routing_id) {
  // Only if it is still this peer's: the number may already belong to a newer connection.
  if (auto owner = fd_owners_.find(fd); owner != fd_owners_.end() && owner->second == routing_id) fd_owners_.erase(owner);
}

void Engine::remember_gone(const std::string& routing_id, Clock::time_point now) {
  constexpr auto memory = std::chrono::seconds(1);  // far longer than libzmq takes to drop the route
  while (!gone_expiry_.empty() && gone_expiry_.front().first <= now) {
    auto it = recently_gone_.find(gone_expiry_.front().second);
    if (it != recently_gone_.end() && it->second <= now) recently_gone_.erase(it);
    gone_expiry_.pop_front();
  }
  recently_gone_.insert_or_assign(routing_id, now + memory);
  gone_expiry_.emplace_back(now + memory, routing_id);
}

bool Engine::recently_gone(std::string_view routing_id, Clock::time_point now) const {
  if (recently_gone_.empty()) return false;
  const auto it = recently_gone_.find(routing_id);
  return it != recently_gone_.end() && now < it->second;
}

std::vector<PeerInfo> Engine::connected_peers() const {
  std::lock_guard lock(peers_mirror_mutex_);
  std::vector<PeerInfo> peers;
  peers.reserve(peers_mirror_.size());
  for (const auto& [routing_id, info] : peers_mirror_) peers.push_back(info);
  return peers;
}

void Engine::for_each_peer(const std::function<void(const PeerState&)>& visit) const {
  for (const auto& [routing_id, peer] : peers_) visit(peer.state);
}

bool Engine::send_heartbeat(std::string_view routing_id) {
  return send_raw(routing_id, {}, wire::MessageType::heartbeat, {}) == 0;
}

void Engine::declare_gone(std::string_view routing_id, std::string_view reason) { peer_gone(routing_id, reason); }

}  // namespace pseud::detail
