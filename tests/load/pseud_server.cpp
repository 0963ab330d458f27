// The server under test: a pseud::Server named "server" with echo(x) -> x,
// noop or trusted_curve authentication and noop or liveness heartbeats at the
// backend's defaults. Everything else is left at the library's defaults.

#include <poll.h>

#include <cerrno>
#include <condition_variable>
#include <mutex>

#include "clock.hpp"
#include "load_server.hpp"
#include "pseud/pseud.hpp"

namespace pseud::load {

namespace {

class PseudServer final : public LoadServer {
 public:
  explicit PseudServer(const ServerOptions& options) : server_("server", peer_options(options)) {
    server_.register_rpc("echo", [](const pseud::Args& args) -> msgpack::object {
      if (args.size() != 1) throw pseud::RemoteError("TypeError", "echo() takes exactly one argument");
      return args[0];
    });
    endpoint_ = server_.bind("tcp://127.0.0.1:*");
  }

  const std::string& endpoint() const override { return endpoint_; }

  void serve_until_readable(int fd) override {
    pollfd item{fd, POLLIN, 0};
    while (::poll(&item, 1, -1) < 0 && errno == EINTR) {
    }
  }

  bool wait_peers(std::uint64_t peers, std::int64_t limit_ms) override {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, std::chrono::milliseconds(limit_ms), [&] { return joined_ - gone_ == peers; });
  }

  ServerStats stats() override {
    const pseud::PeerStats s = server_.stats();
    ServerStats out;
    {
      std::lock_guard lock(mutex_);
      out.joined = joined_;
      out.gone = gone_;
      out.gone_silent = gone_silent_;
    }
    out.handled = s.requests_handled;
    out.malformed = s.malformed_messages + s.oversize_messages;
    out.dropped = s.dropped_replies + s.unroutable_replies + s.expired_replies;
    out.connected = static_cast<std::int64_t>(server_.connected_peers().size());
    return out;
  }

  void stop() override { server_.stop(); }

 private:
  pseud::PeerOptions peer_options(const ServerOptions& options) {
    pseud::PeerOptions peer;
    // 10 000 CURVE handshakes at once queue for libzmq's one I/O thread for
    // seconds on 2 cores: the storm measures that, so the last of them keep
    // libzmq's own 30 s handshake interval rather than pseud++'s 10 s default.
    peer.handshake_timeout = std::chrono::seconds(30);
    if (options.liveness) peer.heartbeat = {"liveness", {}};
    if (!options.server_keys.secret_key.empty()) {
      pseud::Settings settings{{"secret_key", z85(options.server_keys.secret_key)}};
      for (std::size_t i = 0; i < options.client_public.size(); ++i) {
        settings.add("trust", "c" + std::to_string(i) + "=" + z85(options.client_public[i]));
      }
      peer.auth = {"trusted_curve", std::move(settings)};
    }
    if (options.backlog > 0) {
      peer.configure_socket = [backlog = static_cast<int>(options.backlog)](zmq::socket_ref socket) {
        socket.set(zmq::sockopt::backlog, backlog);
      };
    }
    peer.on_peer_joined = [this](const pseud::PeerInfo&) {
      {
        std::lock_guard lock(mutex_);
        ++joined_;
      }
      changed_.notify_all();
    };
    peer.on_peer_gone = [this](const pseud::PeerInfo&, const std::string& reason) {
      {
        std::lock_guard lock(mutex_);
        ++gone_;
        if (reason.rfind("no message for", 0) == 0) ++gone_silent_;  // plugins/heartbeat/liveness.cpp's wording
      }
      changed_.notify_all();
    };
    return peer;
  }

  std::mutex mutex_;
  std::condition_variable changed_;
  std::uint64_t joined_ = 0;
  std::uint64_t gone_ = 0;
  std::uint64_t gone_silent_ = 0;
  pseud::Server server_;  // after what its callbacks touch
  std::string endpoint_;
};

}  // namespace

std::unique_ptr<LoadServer> make_pseud_server(const ServerOptions& options) {
  return std::make_unique<PseudServer>(options);
}

}  // namespace pseud::load
