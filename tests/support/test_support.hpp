#pragma once
// Shared fixtures for pseud++ tests: bounded waits and raw ZeroMQ peers that
// speak (or abuse) the wire directly.

#include <chrono>
#include <functional>
#include <future>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <zmq.hpp>

#include "pseud/detail/outgoing_call.hpp"
#include "pseud/errors.hpp"
#include "sanitizers/libzmq_handoff.hpp"

#include <gtest/gtest.h>

namespace pseud::test {

using namespace std::chrono_literals;

/// ThreadSanitizer slows everything down several times: timing bounds scale with it.
#if defined(__SANITIZE_THREAD__)
inline constexpr int sanitizer_slowdown = 3;
#else
inline constexpr int sanitizer_slowdown = 1;
#endif

/// Every wait in a test is bounded by this unless it says otherwise.
inline constexpr auto bound = 5s;

/// Polls `condition` until it holds or `limit` passes; true if it held.
inline bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds limit = 5000ms) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::yield();
    std::this_thread::sleep_for(1ms);  // polling step, not synchronisation
  }
  return true;
}

/// Runs `call`, which must throw HandshakeError naming the server; returns how long it took.
template <class Call>
std::chrono::steady_clock::duration time_handshake_error(Call&& call) {
  const auto start = std::chrono::steady_clock::now();
  try {
    call();
    ADD_FAILURE() << "expected HandshakeError";
  } catch (const HandshakeError& e) {
    EXPECT_NE(std::string(e.what()).find("server"), std::string::npos) << e.what();
  }
  const auto took = std::chrono::steady_clock::now() - start;
  ::testing::Test::RecordProperty("handshake_error_ms", static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(took).count()));
  return took;
}

/// Waits for `future` at most `limit`; fails the test when it is not ready.
template <class T>
T get_within(std::future<T>& future, std::chrono::milliseconds limit = 5000ms) {
  if (future.wait_for(limit) != std::future_status::ready) {
    ADD_FAILURE() << "future not ready within " << limit.count() << " ms";
    throw std::runtime_error("future not ready in time");
  }
  return future.get();
}

/// Frames as strings, for building and checking raw messages.
using Frames = std::vector<std::string>;

inline std::string hex_decode(std::string_view hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) out += static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16));
  return out;
}

inline std::string hex_encode(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (const char c : bytes) {
    out += digits[static_cast<unsigned char>(c) >> 4];
    out += digits[static_cast<unsigned char>(c) & 0xf];
  }
  return out;
}

/// The WORK body of name(a, b), packed as pseud++ (and Python pseud) pack it.
inline std::string work_body(const std::string& name, int a, int b) {
  const auto call = detail::pack_call("", name, a, b);
  return {call.body.data(), call.body.size()};
}

/// A raw ZeroMQ socket for hand-made frames, with bounded receive.
class RawSocket {
 public:
  RawSocket(zmq::context_t& context, zmq::socket_type type, const std::string& routing_id = {})
      : socket_(context, type) {
    socket_.set(zmq::sockopt::linger, 0);
    socket_.set(zmq::sockopt::rcvtimeo, 5000);
    socket_.set(zmq::sockopt::sndtimeo, 5000);
    if (!routing_id.empty()) socket_.set(zmq::sockopt::routing_id, routing_id);
  }

  zmq::socket_t& socket() { return socket_; }

  void send(const Frames& frames) {
    detail::before_libzmq_send();  // for ThreadSanitizer, over inproc (see libzmq_handoff.hpp)
    for (std::size_t i = 0; i < frames.size(); ++i) {
      const auto flags = i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none;
      socket_.send(zmq::buffer(frames[i]), flags);
    }
  }

  /// The next message, or nullopt after `limit`.
  std::optional<Frames> receive(std::chrono::milliseconds limit = 5000ms) {
    socket_.set(zmq::sockopt::rcvtimeo, static_cast<int>(limit.count()));
    Frames frames;
    do {
      zmq::message_t frame;
      if (!socket_.recv(frame)) return std::nullopt;
      detail::after_libzmq_receive();
      frames.push_back(frame.to_string());
      if (!frame.more()) break;
    } while (true);
    return frames;
  }

 private:
  zmq::socket_t socket_;
};

}  // namespace pseud::test
