#pragma once
// A socket's events as zmq_socket_monitor reports them (connection made,
// handshake done or failed, disconnected...), with when each was received;
// every wait bounded.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>

#include <zmq.hpp>

namespace pseud::test {

class SocketMonitor {
 public:
  using Clock = std::chrono::steady_clock;

  /// Monitors `watched` for `events` (a mask of ZMQ_EVENT_*). Create it before
  /// `watched` connects or binds, to see everything.
  SocketMonitor(zmq::context_t& context, zmq::socket_t& watched, int events) : pair_(context, zmq::socket_type::pair) {
    static std::atomic<int> counter{0};
    const std::string endpoint = "inproc://pseud-test-monitor-" + std::to_string(counter++);
    if (zmq_socket_monitor(watched.handle(), endpoint.c_str(), events) != 0) throw zmq::error_t();
    pair_.set(zmq::sockopt::linger, 0);
    pair_.connect(endpoint);
  }

  struct Event {
    int event;
    int value;
    Clock::time_point at;  ///< when this monitor received it
  };

  /// The next event, or nullopt after `limit`.
  std::optional<Event> next(std::chrono::milliseconds limit) {
    pair_.set(zmq::sockopt::rcvtimeo, static_cast<int>(limit.count()));
    zmq::message_t head;
    if (!pair_.recv(head)) return std::nullopt;
    const auto at = Clock::now();
    zmq::message_t address;
    if (head.more() && !pair_.recv(address)) return std::nullopt;
    std::uint16_t event = 0;
    std::uint32_t value = 0;
    std::memcpy(&event, head.data(), sizeof event);
    std::memcpy(&value, static_cast<const char*>(head.data()) + sizeof event, sizeof value);
    return Event{event, static_cast<int>(value), at};
  }

  /// Waits for `wanted`, skipping other events; nullopt after `limit`.
  std::optional<Event> wait_for(int wanted, std::chrono::milliseconds limit) {
    const auto until = Clock::now() + limit;
    while (true) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now());
      if (left <= std::chrono::milliseconds(0)) return std::nullopt;
      const auto event = next(left);
      if (!event) return std::nullopt;
      if (event->event == wanted) return event;
    }
  }

 private:
  zmq::socket_t pair_;
};

}  // namespace pseud::test
