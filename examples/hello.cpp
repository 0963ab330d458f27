// Hello, both ways: a client calls the server, and the server calls the client back.

#include <iostream>

#include <pseud/pseud.hpp>

int main() {
  pseud::Server server("server");
  server.register_rpc("hello", [](const std::string& name) { return "Hello, " + name + "!"; });
  const std::string endpoint = server.bind("tcp://127.0.0.1:*");

  pseud::Client client("server", {.routing_id = "alice"});
  client.register_rpc("hello", [](const std::string& name) { return "Hi " + name + ", alice here."; });
  client.connect(endpoint);

  std::cout << client.call<std::string>("hello", "alice") << "\n";                    // client -> server
  std::cout << server.send_to("alice").call<std::string>("hello", "server") << "\n";  // server -> client
}
