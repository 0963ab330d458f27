// The floor's server: one ROUTER echoing pseud-shaped WORK messages with an
// OK carrying the same bytes, on one thread, with no library in between.

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <thread>

#include "echo_server.hpp"
#include "floor_wire.hpp"

namespace bench {

namespace {

constexpr int zap_enforce_domain = 93;  // ZMQ_ZAP_ENFORCE_DOMAIN (DRAFT name, stable option), as pseud sets it

class FloorServer final : public EchoServer {
 public:
  FloorServer(zmq::context_t& context, const Config& config, const std::optional<ServerCurve>& curve)
      : socket_(context, zmq::socket_type::router) {
    // The options pseud's engine sets on its ROUTER.
    socket_.set(zmq::sockopt::linger, 0);
    socket_.set(zmq::sockopt::router_mandatory, 1);
    socket_.set(zmq::sockopt::router_handover, curve ? 0 : 1);
    socket_.set(zmq::sockopt::maxmsgsize, std::int64_t{4} * 1024 * 1024);
    socket_.set(zmq::sockopt::routing_id, server_name);
    socket_.set(zmq::sockopt::rcvtimeo, 100);    // to notice stop_
    socket_.set(zmq::sockopt::sndtimeo, 5000);  // a full pipe: wait, but not for ever
    apply_hwm(socket_, config.hwm);
    if (curve) {
      zap_.emplace(context, curve->trusted_client);
      socket_.set(zmq::sockopt::curve_server, 1);
      socket_.set(zmq::sockopt::curve_secretkey, curve->server.secret_key);
      socket_.set(zmq::sockopt::zap_domain, zap_domain);
      const int enforce = 1;
      if (zmq_setsockopt(socket_.handle(), zap_enforce_domain, &enforce, sizeof enforce) != 0) throw zmq::error_t();
    }
    socket_.bind(bind_address(config.transport, Impl::floor));
    endpoint_ = socket_.get(zmq::sockopt::last_endpoint);
    thread_ = std::thread([this] { serve(); });
  }

  ~FloorServer() override {
    stop_ = true;
    thread_.join();
  }

  const std::string& endpoint() const noexcept override { return endpoint_; }

 private:
  void serve() noexcept {
    floor_wire::Frames frames;
    try {
      while (!stop_) {
        const int count = frames.receive(socket_.handle(), 0);
        if (count == 0 || count == 2) continue;  // nothing yet, or a connecting client's probe
        if (count != 6) fail(count < 0 ? zmq_strerror(zmq_errno()) : "a message that is not 6 frames");
        if (frames.view(4).size() != 1 || frames.view(4)[0] != floor_wire::work_type) fail("a message that is not WORK");
        zmq::message_t body = floor_wire::echo_body(frames[5]);
        if (const int error = floor_wire::send_reply(socket_.handle(), frames, floor_wire::ok_type, body)) {
          fail(zmq_strerror(error));
        }
      }
    } catch (const std::exception& e) {
      fail(e.what());
    }
  }

  [[noreturn]] static void fail(const char* why) {
    std::fprintf(stderr, "pseud-bench: floor server: %s\n", why);
    std::_Exit(1);
  }

  zmq::socket_t socket_;
  std::optional<ZapAllowOne> zap_;
  std::string endpoint_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace

std::string bind_address(Transport transport, Impl impl) {
  switch (transport) {
    case Transport::tcp: return "tcp://127.0.0.1:*";
    case Transport::ipc: return "ipc://*";
    case Transport::inproc: break;
  }
  return std::string("inproc://pseud-bench-") + name_of(impl);
}

std::unique_ptr<EchoServer> start_floor_server(zmq::context_t& context, const Config& config,
                                               const std::optional<ServerCurve>& curve) {
  return std::make_unique<FloorServer>(context, config, curve);
}

void apply_hwm(zmq::socket_ref socket, int hwm) {
  if (hwm < 0) return;
  socket.set(zmq::sockopt::sndhwm, hwm);
  socket.set(zmq::sockopt::rcvhwm, hwm);
}

}  // namespace bench
