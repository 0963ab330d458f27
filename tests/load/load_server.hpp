#pragma once
// The server under test, behind one interface: a pseud::Server
// (pseud_server.cpp) or the raw-libzmq floor (floor_server.cpp). Both serve
// "echo" on a ROUTER named "server" bound to tcp://127.0.0.1:*, optionally with
// CURVE (the pseud server through its trusted_curve backend; the floor with
// its own ZAP handler accepting the same keys).

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "keys.hpp"

namespace pseud::load {

struct ServerOptions {
  bool liveness = false;                   ///< pseud: the liveness backend at its default interval, else noop
  std::size_t backlog = 0;                 ///< ZMQ_BACKLOG of the listening socket; 0: 4096, as a pseud++ server
  KeyPair server_keys;                     ///< CURVE when not empty
  std::vector<std::string> client_public;  ///< CURVE: the keys to trust (32 bytes each)
};

struct ServerStats {
  std::uint64_t joined = 0;      ///< peers that announced themselves (probe or first message)
  std::uint64_t gone = 0;        ///< peers the server saw leave (pseud only)
  std::uint64_t gone_silent = 0; ///< ... of which its heartbeat backend declared gone for silence
  std::uint64_t handled = 0;     ///< WORK answered
  std::uint64_t malformed = 0;   ///< refused frame sets or bodies
  std::uint64_t dropped = 0;     ///< replies dropped, unroutable or expired
  std::uint64_t heartbeats = 0;  ///< HEARTBEATs received (floor only; pseud does not count them)
  std::int64_t connected = -1;   ///< pseud: connected_peers().size(); floor: -1
};

class LoadServer {
 public:
  virtual ~LoadServer() = default;
  virtual const std::string& endpoint() const = 0;
  /// Serves until `fd` is readable (the pseud server serves on its own threads and only waits).
  virtual void serve_until_readable(int fd) = 0;
  /// Waits (serving) until `joined - gone` reaches `peers`, at most `limit_ms`; false on timeout.
  virtual bool wait_peers(std::uint64_t peers, std::int64_t limit_ms) = 0;
  virtual ServerStats stats() = 0;
  /// Stops serving, closing every connection.
  virtual void stop() = 0;
};

std::unique_ptr<LoadServer> make_pseud_server(const ServerOptions& options);
std::unique_ptr<LoadServer> make_floor_server(const ServerOptions& options);

}  // namespace pseud::load
