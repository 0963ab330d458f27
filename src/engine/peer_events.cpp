// Layer 4 (engine): peers joining and leaving (the table is PeerTable), and
// what a heartbeat backend may do with them.

#include "engine/engine.hpp"
#include "engine/engine_util.hpp"

namespace pseud::detail {

void Engine::note_peer(std::string_view routing_id, const std::string& user, int fd, bool heartbeat, bool is_req) {
  if (fd >= 0) {
    const std::string* owner = peers_.owner_of(fd);
    if (owner && *owner != routing_id) {
      // The descriptor number was reused: the connection that had it closed,
      // and its DISCONNECTED event is queued by now. Take it before this
      // peer's messages, so the late event cannot hit the new connection.
      drain_monitor();
      owner = peers_.owner_of(fd);
      if (owner && *owner != routing_id) {
        const std::string previous = *owner;
        peer_gone(previous, "its connection closed");
      }
    }
  }
  const auto now = Clock::now();
  PeerTable::Peer* peer = peers_.find(routing_id);
  if (!peer) {
    peer = &peers_.join(routing_id, user, !is_req, now);
    notification_retry_.store(true);  // notifications may wait for this one
    log(LogLevel::info, "pseud: peer '", printable(routing_id), "' joined",
        user.empty() ? std::string() : " as user '" + printable(user) + "'");
    if (options_.on_peer_joined) {
      try {
        options_.on_peer_joined(PeerInfo{peer->state.routing_id, user});
      } catch (const std::exception& e) {
        log(LogLevel::error, "pseud: on_peer_joined threw: ", e.what());
      }
    }
  }
  peer->state.last_heard = now;
  peers_.speaks_through(*peer, fd);
  if (heartbeat) peer->state.sends_heartbeats = true;
  heartbeat_->handle_heartbeat(*this, peer->state);
}

void Engine::peer_gone(std::string_view routing_id, std::string_view reason) {
  const auto state = peers_.remove(routing_id, Clock::now());
  if (!state) return;
  auth_->forget(state->routing_id);
  heartbeat_->handle_timeout(*this, *state);
  log(LogLevel::info, "pseud: peer '", printable(state->routing_id), "' is gone: ", reason);
  fail_calls_to(state->routing_id, false, Failure::gone,
                "peer " + in_quotes(printable(state->routing_id)) + " is gone (" + std::string(reason) + ")");
  if (options_.on_peer_gone) {
    try {
      options_.on_peer_gone(PeerInfo{state->routing_id, state->user_id}, std::string(reason));
    } catch (const std::exception& e) {
      log(LogLevel::error, "pseud: on_peer_gone threw: ", e.what());
    }
  }
}

std::vector<PeerInfo> Engine::connected_peers() const { return peers_.snapshot(); }

void Engine::for_each_peer(const std::function<void(const PeerState&)>& visit) const { peers_.for_each(visit); }

bool Engine::send_heartbeat(std::string_view routing_id) {
  return send_raw(routing_id, {}, wire::MessageType::heartbeat, {}) == 0;
}

void Engine::declare_gone(std::string_view routing_id, std::string_view reason) { peer_gone(routing_id, reason); }

}  // namespace pseud::detail
