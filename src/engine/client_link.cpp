#include "engine/client_link.hpp"

#include <utility>

#include <zmq.h>

namespace pseud::detail {

ClientLink::Change ClientLink::on_event(int event, const std::string& endpoint, Clock::time_point now) {
  using Kind = Change::Kind;
  switch (event) {
    case ZMQ_EVENT_CONNECTED:
    case ZMQ_EVENT_CONNECT_DELAYED:
      checks_.erase(endpoint);  // libzmq is (re)connecting by itself
      return {};
    case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
      checks_.erase(endpoint);
      handshake_drops_ = 0;
      just_dropped_ = false;
      connected_.insert(endpoint);
      failure_.clear();
      handshake_failed_ = false;
      return {Kind::up, false, false, false, {}};
    case ZMQ_EVENT_DISCONNECTED: {
      checks_[endpoint] = now + reconnect_check_delay;
      const bool was_up = connected_.erase(endpoint) > 0;
      if (!connected_.empty()) return {};
      just_dropped_ = true;
      if (was_up) {
        failure_ = "the connection to server '" + server_name_ + "' at " + endpoint + " was lost";
        return {Kind::lost, false, false, true, failure_};
      }
      if (++handshake_drops_ >= 2) {
        // Closed before the handshake completed, twice in a row: the server
        // refuses our security settings. (Once may be a server that died
        // mid-handshake; its restart is then just a reconnection.)
        failure_ = reason(endpoint, ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL);
        handshake_failed_ = true;
        return {Kind::failed, true, true, false, failure_};
      }
      failure_ = "the connection to server '" + server_name_ + "' at " + endpoint + " closed during the handshake";
      return {Kind::failed, false, fail_fast_, false, failure_};
    }
    default:  // connect retried, or handshake failed
      // A connection closed mid-handshake says only that: the DISCONNECTED
      // that follows counts it (a server refusing our keys does it again on
      // every retry; one that died mid-handshake does not).
      if (event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) return {};
      if (event == ZMQ_EVENT_CONNECT_RETRIED) {
        checks_.erase(endpoint);
        // libzmq schedules a retry after every drop: only a retry of its own
        // (the server refused the connection) says something new.
        if (std::exchange(just_dropped_, false)) return {};
        handshake_drops_ = 0;
        // libzmq also schedules a retry after a refused handshake: keep that, more precise, reason.
        if (handshake_failed_) return {};
      }
      if (!connected_.empty()) return {};
      failure_ = reason(endpoint, event);
      handshake_failed_ = event != ZMQ_EVENT_CONNECT_RETRIED;
      // A server that is not there yet may come: calls wait for it, within
      // their timeout, unless the peer fails fast. A refused handshake is final.
      return {Kind::failed, handshake_failed_, handshake_failed_ || fail_fast_, true, failure_};
  }
}

std::optional<ClientLink::Clock::time_point> ClientLink::next_check() const noexcept {
  std::optional<Clock::time_point> next;
  for (const auto& [endpoint, at] : checks_) {
    if (!next || at < *next) next = at;
  }
  return next;
}

std::vector<std::string> ClientLink::take_stalled(Clock::time_point now) {
  std::vector<std::string> stalled;
  for (auto it = checks_.begin(); it != checks_.end();) {
    if (it->second > now) {
      ++it;
      continue;
    }
    stalled.push_back(it->first);
    it = checks_.erase(it);
  }
  return stalled;
}

std::string ClientLink::reason(const std::string& endpoint, int event) const {
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
