// Layer 4 (engine): connection events from the socket monitor.

#include <zmq.h>

#include <sys/socket.h>

#include <algorithm>
#include <cstring>

#include "engine/engine.hpp"
#include "engine/engine_util.hpp"

namespace pseud::detail {

void Engine::drain_monitor() {
  while (true) {
    zmq::message_t event;
    zmq::message_t address;
    if (!monitor_.recv(event, zmq::recv_flags::dontwait)) return;
    if (!event.more() || !monitor_.recv(address) || event.size() < 6) continue;
    std::uint16_t kind;
    std::uint32_t value;
    std::memcpy(&kind, event.data(), sizeof kind);
    std::memcpy(&value, static_cast<const char*>(event.data()) + sizeof kind, sizeof value);
    if (kind == ZMQ_EVENT_ACCEPTED) malformed_.reopened(static_cast<int>(value));
    if (kind == ZMQ_EVENT_DISCONNECTED) {
      malformed_.closed(static_cast<int>(value), Clock::now());
      if (role_ == PeerRole::client) connections_.closed(static_cast<int>(value));  // a server's: below
    }
    if (role_ == PeerRole::client) {
      if (is_own_connection(kind, static_cast<int>(value), address.to_string())) continue;
      on_client_event(kind, address.to_string());
    } else {
      on_server_event(kind, static_cast<int>(value), address.to_string());
    }
  }
}

namespace {

// Whether the TCP connection `fd` is connected to itself: nothing listened on
// a local port of the kernel's ephemeral range, and the reconnection was
// given that very port as its source (a "self-connect").
bool connected_to_itself(int fd) {
  sockaddr_storage local{}, peer{};
  socklen_t local_size = sizeof local, peer_size = sizeof peer;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_size) != 0 ||
      ::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_size) != 0) {
    return false;
  }
  if (local.ss_family != AF_INET && local.ss_family != AF_INET6) return false;
  return local_size == peer_size && std::memcmp(&local, &peer, local_size) == 0;
}

}  // namespace

bool Engine::is_own_connection(int event, int fd, const std::string& endpoint) {
  // The client would handshake with itself and call itself as its server.
  // libzmq reports a connection as CONNECTED (its descriptor), then its
  // handshake (no descriptor), then DISCONNECTED (its descriptor).
  auto known = std::find(self_connected_fds_.begin(), self_connected_fds_.end(), fd);
  if (event == ZMQ_EVENT_CONNECTED) {
    if (known == self_connected_fds_.end()) {
      if (!connected_to_itself(fd)) return false;
      ::shutdown(fd, SHUT_RDWR);  // libzmq sees the error and reconnects
      // Each is forgotten at its DISCONNECTED; the bound only matters if libzmq never reports one.
      if (self_connected_fds_.size() == 16) self_connected_fds_.erase(self_connected_fds_.begin());
      self_connected_fds_.push_back(fd);
      log(LogLevel::info, "pseud: a connection to ", endpoint,
          " was connected to itself (nothing listens there and the kernel gave it that port); closed it");
    }
    self_connected_endpoint_ = endpoint;
    return true;
  }
  if (event == ZMQ_EVENT_DISCONNECTED) {
    if (fd == verified_fd_) verified_fd_ = -1;
    if (known == self_connected_fds_.end()) return false;
    self_connected_fds_.erase(known);
    if (self_connected_endpoint_ == endpoint) self_connected_endpoint_.clear();
    return true;
  }
  // Its handshake says nothing about the server.
  return !self_connected_endpoint_.empty() && endpoint == self_connected_endpoint_;
}

bool Engine::from_verified_connection() {
  // Once per connection: its traffic can arrive before its CONNECTED event is read.
  if (std::find(self_connected_fds_.begin(), self_connected_fds_.end(), current_fd_) != self_connected_fds_.end()) {
    return false;
  }
  if (!connected_to_itself(current_fd_)) {
    verified_fd_ = current_fd_;
    return true;
  }
  ::shutdown(current_fd_, SHUT_RDWR);
  if (self_connected_fds_.size() == 16) self_connected_fds_.erase(self_connected_fds_.begin());
  self_connected_fds_.push_back(current_fd_);  // its CONNECTED event is still to come
  log(LogLevel::info, "pseud: a connection to its server was connected to itself; closed it");
  return false;
}

void Engine::on_client_event(int event, const std::string& endpoint) {
  const ClientLink::Change change = link_.on_event(event, endpoint, Clock::now());
  switch (change.kind) {
    case ClientLink::Change::Kind::none: return;
    case ClientLink::Change::Kind::up:
      note_peer(server_name_, std::string(), -1, false, false);
      retry_parked();
      return;
    case ClientLink::Change::Kind::lost:
      log(LogLevel::info, "pseud: ", change.reason);
      peer_gone(server_name_, change.reason);
      return;
    case ClientLink::Change::Kind::failed:
      if (change.announce) log(LogLevel::info, "pseud: ", change.reason);
      if (change.fail_calls) {
        fail_calls_to(server_name_, true, change.handshake ? Failure::handshake : Failure::unreachable, change.reason);
      }
      return;
  }
}

void Engine::on_server_event(int event, int value, const std::string& endpoint) {
  if (event == ZMQ_EVENT_ACCEPTED) {
    connections_.accepted(value, Clock::now());
    return;
  }
  if (event == ZMQ_EVENT_DISCONNECTED) {
    connections_.closed(value);
    // The value is the closed connection's descriptor: whoever spoke through it is gone.
    if (const std::string* owner = peers_.owner_of(value)) {
      const std::string routing_id = *owner;
      peer_gone(routing_id, "its connection closed");
    }
    unauthenticated_gone(value);  // and whatever the backend kept for it before it logged in
  } else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH || event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL ||
             event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) {
    log(LogLevel::info, "pseud: refused a connection on ", endpoint, " (", failure_reason(endpoint, event), ")");
  }
}

void Engine::reconnect_stalled_endpoints() {
  for (const std::string& endpoint : link_.take_stalled(Clock::now())) {
    if (endpoint == aliased_endpoint_ && !alias_is_free()) {
      // Its pipe still lives: libzmq has not given up on it after all, or is
      // still taking it down (connecting under the alias now would abort).
      link_.check_again(endpoint, Clock::now());
      continue;
    }
    log(LogLevel::info, "pseud: reconnecting to ", endpoint, " (libzmq gave up on it)");
    router_touched_ = true;
    enable_ipv6_for(endpoint);
    try {
      router_.disconnect(endpoint);
    } catch (const zmq::error_t&) {
      // Already gone from libzmq's side: connecting again is all that is needed.
    }
    try {
      connect_router(endpoint, true);
    } catch (const zmq::error_t& e) {
      log(LogLevel::error, "pseud: cannot reconnect to ", endpoint, ": ", e.what());
    }
  }
}

void Engine::connect_router(const std::string& endpoint, bool reconnecting) {
  // A client's first connection is known locally by the server's name,
  // whatever routing id the server announces ("name@instance" for an
  // instance): calls to the name reach it without configuring ids. One
  // connection only: libzmq aborts on a second one under an alias in use
  // (a stalled endpoint is reconnected under it once alias_is_free()).
  const bool aliased =
      role_ == PeerRole::client && (aliased_endpoint_.empty() || (reconnecting && aliased_endpoint_ == endpoint));
  if (aliased) router_.set(zmq::sockopt::connect_routing_id, server_name_);
  router_.connect(endpoint);
  if (aliased) aliased_endpoint_ = endpoint;
}

bool Engine::alias_is_free() {
  // Only a HEARTBEAT, harmless to any pseud peer, could go out if it is not.
  return send_raw(server_name_, {}, wire::MessageType::heartbeat, {}) == EHOSTUNREACH;
}

void Engine::close_silent_connections(Clock::time_point now) {
  // Only connections still open now: a closed one's number may be reused by
  // the time its DISCONNECTED is read, so read them all first (libzmq
  // reports a disconnection before it closes the descriptor).
  drain_monitor();
  for (const int fd : connections_.take_silent(now - options_.handshake_timeout - *silence_limit_)) {
    if (::shutdown(fd, SHUT_RDWR) != 0) continue;
    counters_.silent_connections_cut.fetch_add(1, std::memory_order_relaxed);
    log(LogLevel::info, "pseud: closed a connection that sent nothing within ",
        (options_.handshake_timeout + *silence_limit_).count(), " ms of being accepted");
  }
}

std::string Engine::failure_reason(const std::string& endpoint, int event) const {
  if (role_ == PeerRole::client) return link_.reason(endpoint, event);
  return event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH ? "the client's credentials were refused"
                                                  : "the client's security handshake failed";
}

}  // namespace pseud::detail
