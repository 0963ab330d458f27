#pragma once
// The floor's side of the wire: pseud-shaped messages on a raw ROUTER socket
// and the same msgpack work pseud does (pack the WORK body, unpack it and
// pack the OK body, unpack the OK body), without the library in between.

#include <array>
#include <cstddef>
#include <string>
#include <string_view>

#include <zmq.hpp>

namespace bench::floor_wire {

/// The six frames of a received message (routing id first), read like
/// pseud's engine reads them: into reused messages, extra frames counted.
class Frames {
 public:
  /// Receives one message (flags: 0 or ZMQ_DONTWAIT). Returns its frame
  /// count, 0 when nothing arrived in time (EAGAIN), -1 on another error.
  int receive(void* socket, int flags);
  zmq::message_t& operator[](std::size_t i) noexcept { return frames_[i]; }
  std::string_view view(std::size_t i) const noexcept {
    return {static_cast<const char*>(frames_[i].data()), frames_[i].size()};
  }

 private:
  std::array<zmq::message_t, 6> frames_;
  zmq::message_t overflow_;
};

inline constexpr std::string_view function_name = "echo";
inline constexpr char work_type = '\x03';
inline constexpr char ok_type = '\x01';

/// The WORK body ["echo", [bin payload], {}], as a message owning its bytes.
zmq::message_t pack_work(std::string_view payload);

/// Unpacks a WORK body, checks its shape as pseud does ([str, array, map]
/// calling "echo" with one bin) and packs that bin as the OK body. Throws
/// std::runtime_error on anything else.
zmq::message_t echo_body(const zmq::message_t& work);

/// Unpacks an OK body into `out` (a copy, as a caller's bytes result is).
/// False when it is not one bin.
bool unpack_ok(const zmq::message_t& body, std::string& out);

/// Sends [routing id, "", "v1", id, type, body]; the body is moved out.
/// Returns 0 or the errno of the first frame (EHOSTUNREACH, EAGAIN).
int send(void* socket, std::string_view routing_id, std::string_view id, char type, zmq::message_t& body);

/// Sends a reply reusing the received routing id, delimiter, version and id
/// frames, then `type` and `body`. Returns 0 or the errno.
int send_reply(void* socket, Frames& request, char type, zmq::message_t& body);

}  // namespace bench::floor_wire
