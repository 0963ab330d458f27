#include "curve.hpp"

#include <stdexcept>
#include <vector>

namespace bench {

KeyPair make_key_pair() {
  char public_key[41];
  char secret_key[41];
  if (zmq_curve_keypair(public_key, secret_key) != 0) throw std::runtime_error("libzmq has no CURVE support");
  return {public_key, secret_key};
}

ZapAllowOne::ZapAllowOne(zmq::context_t& context, const std::string& trusted_public_key)
    : socket_(context, zmq::socket_type::rep), trusted_(32, '\0') {
  if (trusted_public_key.size() != 40 ||
      !zmq_z85_decode(reinterpret_cast<std::uint8_t*>(trusted_.data()), trusted_public_key.c_str())) {
    throw std::runtime_error("bad trusted public key");
  }
  socket_.set(zmq::sockopt::linger, 0);
  socket_.set(zmq::sockopt::rcvtimeo, 100);  // to notice stop_
  socket_.bind("inproc://zeromq.zap.01");
  thread_ = std::thread([this] { serve(); });
}

ZapAllowOne::~ZapAllowOne() {
  stop_ = true;
  thread_.join();
}

void ZapAllowOne::serve() {
  while (!stop_) {
    std::vector<zmq::message_t> request;
    zmq::message_t frame;
    if (!socket_.recv(frame)) continue;  // timeout
    request.push_back(std::move(frame));
    while (request.back().more()) {
      zmq::message_t next;
      if (!socket_.recv(next)) break;
      request.push_back(std::move(next));
    }
    // version, request id, domain, address, identity, mechanism, credentials...
    const bool accept = request.size() == 7 && request[5].to_string_view() == "CURVE" &&
                        request[6].to_string_view() == trusted_;
    const std::string request_id = request.size() > 1 ? request[1].to_string() : std::string();
    socket_.send(zmq::str_buffer("1.0"), zmq::send_flags::sndmore);
    socket_.send(zmq::buffer(request_id), zmq::send_flags::sndmore);
    socket_.send(accept ? zmq::str_buffer("200") : zmq::str_buffer("400"), zmq::send_flags::sndmore);
    socket_.send(accept ? zmq::str_buffer("OK") : zmq::str_buffer("Unauthorized"), zmq::send_flags::sndmore);
    socket_.send(accept ? zmq::str_buffer("bench") : zmq::str_buffer(""), zmq::send_flags::sndmore);
    socket_.send(zmq::str_buffer(""), zmq::send_flags::none);
  }
}

}  // namespace bench
