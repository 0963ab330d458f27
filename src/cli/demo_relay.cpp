// relay_add(endpoint, a, b, server_name="server"): a coroutine handler. It
// calls `add` on the server at an endpoint its caller names and answers with
// the sum, holding no thread while it waits. One client per endpoint, at
// most max_relay_endpoints for the process's life: a demo, not a function to
// offer strangers (it connects where it is told).

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>

#include "cli/demo_functions.hpp"
#include "pseud/task.hpp"

namespace pseud::cli {

namespace {

class RelayClients {
 public:
  Client& get(const std::string& endpoint, const std::string& server_name) {
    if (endpoint.size() > 256 || (endpoint.rfind("tcp://", 0) != 0 && endpoint.rfind("ipc://", 0) != 0)) {
      throw std::invalid_argument("relay_add: endpoint must be tcp://HOST:PORT or ipc://PATH (256 bytes at most)");
    }
    if (server_name.empty() || server_name.size() > 255) {
      throw std::invalid_argument("relay_add: server_name must be 1 to 255 bytes");
    }
    std::lock_guard lock(mutex_);
    const std::string key = server_name + '\n' + endpoint;
    if (auto it = clients_.find(key); it != clients_.end()) return *it->second;
    if (clients_.size() >= max_relay_endpoints) {
      throw OverloadedError("relay_add: this process relays to " + std::to_string(max_relay_endpoints) +
                            " endpoints already");
    }
    auto client = std::make_unique<Client>(server_name, PeerOptions{.parent_registry = nullptr});
    client->connect(endpoint);
    return *clients_.emplace(key, std::move(client)).first->second;
  }

 private:
  std::mutex mutex_;
  std::map<std::string, std::unique_ptr<Client>> clients_;
};

// Process-wide, and destroyed at exit on the main thread: a client must not
// be destroyed on its own engine thread, where a relay's coroutine goes on.
RelayClients& relay_clients() {
  static RelayClients clients;
  return clients;
}

}  // namespace

void register_relay_demo(Peer& peer) {
  peer.register_rpc(
      "relay_add",
      [](std::string endpoint, std::int64_t a, std::int64_t b, std::string server_name) -> Task<std::int64_t> {
        Client& client = relay_clients().get(endpoint, server_name);
        co_return co_await client.co_call<std::int64_t>("add", a, b, CallOptions{.timeout = std::chrono::seconds(5)});
      },
      {.params = {"endpoint", "a", "b", param("server_name", "server")},
       .doc = "A coroutine handler: calls add(a, b) on the server at endpoint and returns the sum."});
}

}  // namespace pseud::cli
