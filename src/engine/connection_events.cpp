// Layer 4 (engine): connection events from the socket monitor.

#include <zmq.h>

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
    if (kind == ZMQ_EVENT_DISCONNECTED) malformed_by_fd_.erase(static_cast<int>(value));
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
      } else {
        // Closed before the handshake completed: the server refused our security settings.
        route_failure_ = failure_reason(endpoint, ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL);
        handshake_failed_ = true;
        fail_calls_to(server_name_, true, Failure::handshake, route_failure_);
      }
      return;
    }
    default:  // connect retried, or handshake failed
      if (event == ZMQ_EVENT_CONNECT_RETRIED) {
        reconnect_checks_.erase(endpoint);
        // libzmq also schedules a retry after a refused handshake: keep that, more precise, reason.
        if (handshake_failed_) return;
      }
      if (!connected_endpoints_.empty()) return;
      route_failure_ = failure_reason(endpoint, event);
      handshake_failed_ = event != ZMQ_EVENT_CONNECT_RETRIED;
      log(LogLevel::info, "pseud: ", route_failure_);
      fail_calls_to(server_name_, true, handshake_failed_ ? Failure::handshake : Failure::unreachable,
                    route_failure_);
      return;
  }
}

void Engine::on_server_event(int event, int value, const std::string& endpoint) {
  if (event == ZMQ_EVENT_DISCONNECTED) {
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
