#pragma once
// Layer 4 (engine): the one place a peer's messages leave: pseud v1 frames
// as the wire layer encodes them (wire::router_frames), written to the
// ROUTER socket without waiting. The engine thread calls it, or a caller
// thread holding the engine's state lock (Engine::try_direct_call).

#include <string_view>

#include <zmq.hpp>

#include "wire/message.hpp"

namespace pseud::detail {

class Outbox {
 public:
  explicit Outbox(zmq::socket_ref socket) noexcept : socket_(socket) {}

  /// Sends [routing_id, "", "v1", id, type, body], taking `body`'s bytes
  /// without a copy. Returns 0, or the errno that refused the first frame:
  /// EHOSTUNREACH (no connection has that routing id), EAGAIN (its queue
  /// holds queue_limit messages). Once the first frame is taken, the rest is.
  int send(std::string_view routing_id, std::string_view id, wire::MessageType type, zmq::message_t& body) noexcept;

 private:
  zmq::socket_ref socket_;
};

}  // namespace pseud::detail
