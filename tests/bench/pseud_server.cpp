// pseud's server: a pseud::Server whose echo function returns its bytes.

#include "echo_server.hpp"
#include "observation.hpp"
#include "pseud/pseud.hpp"

namespace bench {

namespace {

pseud::PeerOptions server_options(const Config& config, const std::optional<ServerCurve>& curve) {
  pseud::PeerOptions options;
  apply_observation(options, config.observation);
  if (config.hwm >= 0) options.configure_socket = [hwm = config.hwm](zmq::socket_ref socket) { apply_hwm(socket, hwm); };
  if (curve) {
    options.auth = {"trusted_curve",
                    pseud::Settings{{"secret_key", curve->server.secret_key}, {"trust", "bench=" + curve->trusted_client}}};
  }
  return options;
}

class PseudServer final : public EchoServer {
 public:
  PseudServer(const Config& config, const std::optional<ServerCurve>& curve)
      : server_(server_name, server_options(config, curve)) {
    server_.register_rpc("echo", [](pseud::Bytes bytes) { return bytes; });
    endpoint_ = server_.bind(bind_address(config.transport, Impl::pseud));
  }

  const std::string& endpoint() const noexcept override { return endpoint_; }

 private:
  pseud::Server server_;
  std::string endpoint_;
};

}  // namespace

std::unique_ptr<EchoServer> start_pseud_server(const Config& config, const std::optional<ServerCurve>& curve) {
  return std::make_unique<PseudServer>(config, curve);
}

}  // namespace bench
