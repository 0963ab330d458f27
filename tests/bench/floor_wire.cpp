#include "floor_wire.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include <msgpack.hpp>

namespace bench::floor_wire {

namespace {

// Hands a packed buffer to a message without copying it (as pseud does).
zmq::message_t to_message(msgpack::sbuffer& buffer) {
  const std::size_t size = buffer.size();
  char* data = buffer.release();
  return zmq::message_t(data, size, [](void* bytes, void*) { std::free(bytes); }, nullptr);
}

void pack_bin(msgpack::packer<msgpack::sbuffer>& out, const char* data, std::size_t size) {
  out.pack_bin(static_cast<std::uint32_t>(size));
  out.pack_bin_body(data, static_cast<std::uint32_t>(size));
}

}  // namespace

int Frames::receive(void* socket, int flags) {
  if (zmq_msg_recv(frames_[0].handle(), socket, flags) < 0) return zmq_errno() == EAGAIN ? 0 : -1;
  int count = 1;
  zmq::message_t* last = &frames_[0];
  while (last->more()) {
    zmq::message_t& next = count < 6 ? frames_[static_cast<std::size_t>(count)] : overflow_;
    if (zmq_msg_recv(next.handle(), socket, 0) < 0) return -1;
    ++count;
    last = &next;
  }
  return count;
}

zmq::message_t pack_work(std::string_view payload) {
  msgpack::sbuffer buffer(payload.size() + 16);
  msgpack::packer<msgpack::sbuffer> out(buffer);
  out.pack_array(3);
  out.pack_str(static_cast<std::uint32_t>(function_name.size()));
  out.pack_str_body(function_name.data(), static_cast<std::uint32_t>(function_name.size()));
  out.pack_array(1);
  pack_bin(out, payload.data(), payload.size());
  out.pack_map(0);
  return to_message(buffer);
}

zmq::message_t echo_body(const zmq::message_t& work) {
  const msgpack::object_handle handle = msgpack::unpack(static_cast<const char*>(work.data()), work.size());
  const msgpack::object& body = handle.get();
  if (body.type != msgpack::type::ARRAY || body.via.array.size != 3) throw std::runtime_error("WORK: not a 3-array");
  const msgpack::object& name = body.via.array.ptr[0];
  const msgpack::object& args = body.via.array.ptr[1];
  const msgpack::object& kwargs = body.via.array.ptr[2];
  if (name.type != msgpack::type::STR || std::string_view(name.via.str.ptr, name.via.str.size) != function_name ||
      args.type != msgpack::type::ARRAY || args.via.array.size != 1 || kwargs.type != msgpack::type::MAP ||
      args.via.array.ptr[0].type != msgpack::type::BIN) {
    throw std::runtime_error("WORK: not a call of echo(bytes)");
  }
  const msgpack::object_bin& bytes = args.via.array.ptr[0].via.bin;
  msgpack::sbuffer buffer(bytes.size + 8);
  msgpack::packer<msgpack::sbuffer> out(buffer);
  pack_bin(out, bytes.ptr, bytes.size);
  return to_message(buffer);
}

bool unpack_ok(const zmq::message_t& body, std::string& out) {
  try {
    const msgpack::object_handle handle = msgpack::unpack(static_cast<const char*>(body.data()), body.size());
    if (handle.get().type != msgpack::type::BIN) return false;
    out.assign(handle.get().via.bin.ptr, handle.get().via.bin.size);
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

int send(void* socket, std::string_view routing_id, std::string_view id, char type, zmq::message_t& body) {
  if (zmq_send(socket, routing_id.data(), routing_id.size(), ZMQ_SNDMORE) < 0) return zmq_errno();
  zmq_send(socket, "", 0, ZMQ_SNDMORE);
  zmq_send(socket, "v1", 2, ZMQ_SNDMORE);
  zmq_send(socket, id.data(), id.size(), ZMQ_SNDMORE);
  zmq_send(socket, &type, 1, ZMQ_SNDMORE);
  if (zmq_msg_send(body.handle(), socket, 0) < 0) return zmq_errno();
  return 0;
}

int send_reply(void* socket, Frames& request, char type, zmq::message_t& body) {
  if (zmq_msg_send(request[0].handle(), socket, ZMQ_SNDMORE) < 0) return zmq_errno();
  for (std::size_t i = 1; i < 4; ++i) zmq_msg_send(request[i].handle(), socket, ZMQ_SNDMORE);
  zmq_send(socket, &type, 1, ZMQ_SNDMORE);
  if (zmq_msg_send(body.handle(), socket, 0) < 0) return zmq_errno();
  return 0;
}

}  // namespace bench::floor_wire
