#pragma once
// Layer 4 (engine): the peers a peer has heard from: their state, the
// descriptor each speaks through, the routes of authenticated users, the
// routing ids gone a moment ago, and the snapshot other threads read.
// Engine thread only, except snapshot(). Bounded by the connections:
// a peer leaves when its connection closes or its heartbeat stops.

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "engine/text_map.hpp"
#include "pseud/heartbeat.hpp"
#include "pseud/peer_options.hpp"

namespace pseud::detail {

class PeerTable {
 public:
  using Clock = std::chrono::steady_clock;

  /// How long a routing id counts as just gone: far longer than libzmq
  /// takes to drop a closed connection's route, during which a call sent
  /// there would be lost and time out instead of failing at once.
  static constexpr auto gone_memory = std::chrono::seconds(1);

  struct Peer {
    PeerState state;
    int fd = -1;  // the connection's descriptor, to match disconnect events (-1: none known)
    bool announced = false;  // the routing id it announces was looked up (see announce)
  };

  /// The peer with `routing_id`, or null.
  Peer* find(std::string_view routing_id) noexcept;
  const Peer* find(std::string_view routing_id) const noexcept;
  /// Adds a peer first heard from `now`; it must not be in the table.
  Peer& join(std::string_view routing_id, const std::string& user, bool may_ping, Clock::time_point now);
  /// The routing id `peer` announces for itself (a client's server, known locally by another).
  void announce(Peer& peer, std::string_view announced_routing_id);
  /// `peer` now speaks through `fd`.
  void speaks_through(Peer& peer, int fd);
  /// Removes the peer, its descriptor, the user routes to it, and remembers it gone until now + gone_memory.
  std::optional<PeerState> remove(std::string_view routing_id, Clock::time_point now);
  bool recently_gone(std::string_view routing_id, Clock::time_point now) const;

  /// Who last spoke through `fd`, if anyone.
  const std::string* owner_of(int fd) const noexcept;

  /// An authenticated user now speaks through `routing_id`.
  void route_user(std::string_view user, std::string_view routing_id);
  /// The routing id of `user`'s connection, or null.
  const std::string* route_of(std::string_view user) const noexcept;

  void for_each(const std::function<void(const PeerState&)>& visit) const;
  std::size_t size() const noexcept { return peers_.size(); }
  /// The peers as other threads see them (any thread).
  std::vector<PeerInfo> snapshot() const;

 private:
  void disown(int fd, std::string_view routing_id);
  void forget_expired(Clock::time_point now);

  TextMap<Peer> peers_;               // routing id -> peer
  TextMap<std::string> user_routes_;  // authenticated user -> routing id
  std::unordered_map<int, std::string> fd_owners_;  // descriptor -> the routing id that spoke through it
  TextMap<Clock::time_point> recently_gone_;        // routing id -> until when
  std::deque<std::pair<Clock::time_point, std::string>> gone_expiry_;  // recently_gone_ in expiry order
  mutable std::mutex mirror_mutex_;
  std::map<std::string, PeerInfo> mirror_;  // what snapshot() returns
};

}  // namespace pseud::detail
