// Layer 4 (engine): connection events from the socket monitor.

#include <zmq.h>

#include <sys/socket.h>

#include <cstring>

#include "engine/engine.hpp"
#include "engine/engine_util.hpp"

namespace pseud::detail {

namespace {

using namespace std::chrono_literals;

// libzmq does not reconnect after some disconnects (a frame over
// ZMQ_MAXMSGSIZE is a protocol error to it); an endpoint that shows no sign of
// reconnecting this long after a disconnect is reconnected by hand.
constexpr auto reconnect_check_delay = 500ms;

}  // namespace

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
    if (kind == ZMQ_EVENT_DISCONNECTED) {
      malformed_.forget(static_cast<int>(value));
      if (role_ == PeerRole::client) connections_.closed(static_cast<int>(value));  // a server's: below
    }
    if (role_ == PeerRole::client) {
      on_client_event(kind, address.to_string());
    } else {
      on_server_event(kind, static_cast<int>(value), address.to_string());
    }
  }
}

void Engine::on_client_event(int event, std::string endpoint) {
  switch (event) {
    case ZMQ_EVENT_CONNECTED:
    case ZMQ_EVENT_CONNECT_DELAYED:
      reconnect_checks_.erase(endpoint);  // libzmq is (re)connecting by itself
      return;
    case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
      reconnect_checks_.erase(endpoint);
      handshake_drops_ = 0;
      just_dropped_ = false;
      connected_endpoints_.insert(std::move(endpoint));
      route_failure_.clear();
      handshake_failed_ = false;
      note_peer(server_name_, std::string(), -1, false, false);
      retry_parked();
      return;
    case ZMQ_EVENT_DISCONNECTED: {
      reconnect_checks_[endpoint] = Clock::now() + reconnect_check_delay;
      const bool was_up = connected_endpoints_.erase(endpoint) > 0;
      if (!connected_endpoints_.empty()) return;
      if (was_up) {
        route_failure_ = "the connection to server '" + server_name_ + "' at " + endpoint + " was lost";
        log(LogLevel::info, "pseud: ", route_failure_);
        peer_gone(server_name_, route_failure_);
      } else if (++handshake_drops_ >= 2) {
        // Closed before the handshake completed, twice in a row: the server
        // refuses our security settings. (Once may be a server that died
        // mid-handshake; its restart is then just a reconnection.)
        route_failure_ = failure_reason(endpoint, ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL);
        handshake_failed_ = true;
        fail_calls_to(server_name_, true, Failure::handshake, route_failure_);
      } else {
        route_failure_ = "the connection to server '" + server_name_ + "' at " + endpoint +
                         " closed during the handshake";
        if (options_.fail_fast) fail_calls_to(server_name_, true, Failure::unreachable, route_failure_);
      }
      just_dropped_ = true;
      return;
    }
    default:  // connect retried, or handshake failed
      // A connection closed mid-handshake says only that: the DISCONNECTED
      // that follows counts it (a server refusing our keys does it again on
      // every retry; one that died mid-handshake does not).
      if (event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) return;
      if (event == ZMQ_EVENT_CONNECT_RETRIED) {
        reconnect_checks_.erase(endpoint);
        // libzmq schedules a retry after every drop: only a retry of its own
        // (the server refused the connection) says something new.
        if (std::exchange(just_dropped_, false)) return;
        handshake_drops_ = 0;
        // libzmq also schedules a retry after a refused handshake: keep that, more precise, reason.
        if (handshake_failed_) return;
      }
      if (!connected_endpoints_.empty()) return;
      route_failure_ = failure_reason(endpoint, event);
      handshake_failed_ = event != ZMQ_EVENT_CONNECT_RETRIED;
      log(LogLevel::info, "pseud: ", route_failure_);
      // A server that is not there yet may come: calls wait for it, within
      // their timeout, unless the peer fails fast. A refused handshake is final.
      if (handshake_failed_ || options_.fail_fast) {
        fail_calls_to(server_name_, true, handshake_failed_ ? Failure::handshake : Failure::unreachable,
                      route_failure_);
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
    if (auto owner = fd_owners_.find(value); owner != fd_owners_.end()) {
      const std::string routing_id = owner->second;
      peer_gone(routing_id, "its connection closed");
    }
    unauthenticated_gone(value);  // and whatever the backend kept for it before it logged in
  } else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH || event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL ||
             event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) {
    log(LogLevel::info, "pseud: refused a connection on ", endpoint, " (", failure_reason(endpoint, event), ")");
  }
}

void Engine::reconnect_stalled_endpoints() {
  const auto now = Clock::now();
  for (auto it = reconnect_checks_.begin(); it != reconnect_checks_.end();) {
    if (it->second > now) {
      ++it;
      continue;
    }
    log(LogLevel::info, "pseud: reconnecting to ", it->first, " (libzmq gave up on it)");
    router_touched_ = true;
    enable_ipv6_for(it->first);
    try {
      router_.disconnect(it->first);
    } catch (const zmq::error_t&) {
      // Already gone from libzmq's side: connecting again is all that is needed.
    }
    try {
      router_.connect(it->first);
    } catch (const zmq::error_t& e) {
      log(LogLevel::error, "pseud: cannot reconnect to ", it->first, ": ", e.what());
    }
    it = reconnect_checks_.erase(it);
  }
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
  if (role_ == PeerRole::server) {
    return event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH ? "the client's credentials were refused"
                                                    : "the client's security handshake failed";
  }
  if (event == ZMQ_EVENT_CONNECT_RETRIED) {
    return "server '" + server_name_ + "' is not reachable at " + endpoint +
           " (connection refused: is it running and bound there?)";
  }
  if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
    return "server '" + server_name_ + "' at " + endpoint + " refused our credentials";
  }
  return "the handshake with server '" + server_name_ + "' at " + endpoint +
         " failed (do both sides use the same security mechanism and the right server key?)";
}

}  // namespace pseud::detail
