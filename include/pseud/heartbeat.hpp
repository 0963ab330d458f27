#pragma once
/// Heartbeat backends decide when a connected peer is gone. A peer's options
/// name one (PeerOptions::heartbeat); built in: "noop" and "liveness".
/// Every method runs on the peer's engine thread.

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "pseud/auth.hpp"

namespace pseud {

/// What the engine knows of one connected, authenticated peer.
struct PeerState {
  std::string routing_id;
  std::string user_id;
  std::chrono::steady_clock::time_point joined;
  std::chrono::steady_clock::time_point last_heard;  ///< any message counts
  std::chrono::steady_clock::time_point last_sent;   ///< anything we sent it
  bool sends_heartbeats = false;                     ///< it has sent us a HEARTBEAT
  bool may_ping = true;                              ///< false for REQ peers, which must get only replies
};

/// What the engine offers a heartbeat backend.
class HeartbeatHost {
 public:
  virtual ~HeartbeatHost() = default;
  virtual PeerRole role() const noexcept = 0;
  /// Visits every connected peer.
  virtual void for_each_peer(const std::function<void(const PeerState&)>& visit) const = 0;
  /// Sends HEARTBEAT (empty id, empty body) to `routing_id`; false when it is unreachable.
  virtual bool send_heartbeat(std::string_view routing_id) = 0;
  /// Declares `routing_id` gone: it leaves the connected peers and its pending calls fail at once.
  virtual void declare_gone(std::string_view routing_id, std::string_view reason) = 0;
};

/// One liveness policy, for one peer in one role.
class HeartbeatBackend {
 public:
  virtual ~HeartbeatBackend() = default;
  virtual void configure(HeartbeatHost& host) { (void)host; }
  virtual void stop() {}
  /// How often sweep() should run; nullopt: never. One timer serves all peers.
  virtual std::optional<std::chrono::milliseconds> sweep_interval() const { return std::nullopt; }
  /// How long a peer may stay silent before it counts as gone; nullopt: no
  /// limit. A server also closes connections that have sent nothing at all
  /// this long after their handshake (they are in no peer table to sweep).
  virtual std::optional<std::chrono::milliseconds> silence_limit() const { return std::nullopt; }
  /// Periodic check of every peer.
  virtual void sweep(HeartbeatHost& host, std::chrono::steady_clock::time_point now) { (void)host, (void)now; }
  /// Called for every message from a connected peer (HEARTBEAT included), after the engine updated its state.
  virtual void handle_heartbeat(HeartbeatHost& host, const PeerState& peer) { (void)host, (void)peer; }
  /// Called when a peer was declared gone (by anyone).
  virtual void handle_timeout(HeartbeatHost& host, const PeerState& peer) { (void)host, (void)peer; }
};

}  // namespace pseud
