#pragma once
// The two servers a repetition measures against: pseud::Server with an echo
// function, and the floor's raw ROUTER echo loop. Both serve on threads of
// their own until destroyed.

#include <memory>
#include <optional>
#include <string>

#include <zmq.hpp>

#include "curve.hpp"
#include "options.hpp"

namespace bench {

/// The routing id / name of both servers.
inline constexpr const char* server_name = "server";

/// CURVE settings of a server: its key pair and the one client key it trusts.
struct ServerCurve {
  KeyPair server;
  std::string trusted_client;  ///< Z85 public key
};

class EchoServer {
 public:
  virtual ~EchoServer() = default;
  /// The endpoint a client connects to (the bound address).
  virtual const std::string& endpoint() const noexcept = 0;
};

/// Where a server binds: tcp://127.0.0.1:*, ipc://* (a fresh path), or an inproc name.
std::string bind_address(Transport transport, Impl impl);

/// Raw libzmq: a ROUTER in `context` echoing on its own thread. On a message it
/// cannot handle it prints why and ends the process (the client then fails).
std::unique_ptr<EchoServer> start_floor_server(zmq::context_t& context, const Config& config,
                                               const std::optional<ServerCurve>& curve);

/// pseud::Server "server" with `echo(bytes) -> bytes`, trusted_curve with `curve`.
std::unique_ptr<EchoServer> start_pseud_server(const Config& config, const std::optional<ServerCurve>& curve);

/// Applies Config::hwm to a socket (nothing when it is -1).
void apply_hwm(zmq::socket_ref socket, int hwm);

}  // namespace bench
