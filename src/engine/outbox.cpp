#include "engine/outbox.hpp"

#include <zmq.h>

#include "sanitizers/libzmq_handoff.hpp"
#include "wire/frames.hpp"

namespace pseud::detail {

int Outbox::send(std::string_view routing_id, std::string_view id, wire::MessageType type,
                 zmq::message_t& body) noexcept {
  void* socket = socket_.handle();
  // The body goes as a zmq message (no copy); the five frames before it as the wire layer lays them out.
  const auto frames = wire::router_frames(routing_id, wire::Message{id, type, {}});
  before_libzmq_send();
  if (zmq_send(socket, frames[0].data(), frames[0].size(), ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) return zmq_errno();
  for (std::size_t i = 1; i < frames.size() - 1; ++i) zmq_send(socket, frames[i].data(), frames[i].size(), ZMQ_SNDMORE);
  zmq_msg_send(body.handle(), socket, 0);
  return 0;
}

}  // namespace pseud::detail
