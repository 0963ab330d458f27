// pseud++ demo: a server and a client in one process, calling each other
// both ways over tcp loopback, printing what happens.

#include <cctype>
#include <iostream>
#include <map>
#include <string>

#include <pseud/pseud.hpp>

namespace {

struct Greeting {
  std::string text;
  std::map<std::string, std::string> extra;
  MSGPACK_DEFINE_MAP(text, extra)
};

}  // namespace

int main() {
  try {
    pseud::Server server("server");
    server.register_rpc("add", [](int a, int b) { return a + b; }, {.params = {"a", "b"}, .doc = "a + b"});
    server.register_rpc(
        "greet",
        [](const std::string& name, const std::string& greeting, const std::string& punctuation,
           const pseud::Kwargs& extra) {
          Greeting g{greeting + ", " + name + punctuation, {}};
          for (const auto& [key, value] : extra) g.extra[std::string(key)] = value->as<std::string>();
          return g;
        },
        {.params = {"name", pseud::param("greeting", "Hello"), pseud::param("punctuation", "!")}});
    server.register_rpc("fail", [](const std::string& message) -> int { throw std::invalid_argument(message); });
    // The server learns who called and calls that client back.
    server.register_rpc(
        "call_me_back",
        [&server](const std::string& caller, const std::string& text) {
          return server.send_to(caller).call<std::string>("string.upper", text);
        },
        {.with_identity = true, .blocking = true});

    const std::string endpoint = server.bind("tcp://127.0.0.1:*");
    std::cout << "server 'server' bound to " << endpoint << "\n";

    pseud::Client client("server", {.routing_id = "demo-client"});
    client.register_rpc("string.upper", [](std::string s) {
      std::cout << "  client: the server asks me to upper-case '" << s << "'\n";
      for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      return s;
    });
    client.connect(endpoint);
    std::cout << "client 'demo-client' connected\n";

    std::cout << "client -> server: add(1, 2) = " << client.call<int>("add", 1, 2) << "\n";
    const auto greeting = client.call<Greeting>("greet", "bob", pseud::kw("greeting", "Hi", "mood", "calm"));
    std::cout << "client -> server: greet('bob', greeting='Hi', mood='calm') = '" << greeting.text
              << "' with extra mood='" << greeting.extra.at("mood") << "'\n";
    std::cout << "client -> server: call_me_back('pseud')\n";
    const auto called_back = client.call<std::string>("call_me_back", "pseud");
    std::cout << "  = '" << called_back << "'\n";
    std::cout << "server -> client: string.upper('direct')\n";
    const auto direct = server.send_to("demo-client").call<std::string>("string.upper", "direct");
    std::cout << "  = '" << direct << "'\n";
    try {
      client.call<int>("fail", "boom");
    } catch (const pseud::RemoteError& e) {
      std::cout << "client -> server: fail('boom') raised " << e.name() << ": " << e.message() << "\n";
    }
    try {
      client.call<int>("no.such.function");
    } catch (const pseud::ServiceNotFoundError& e) {
      std::cout << "client -> server: no.such.function raised " << e.name() << ": " << e.message() << "\n";
    }
    client.stop();
    server.stop();
    std::cout << "demo finished\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "demo failed: " << e.what() << "\n";
    return 1;
  }
}
