// A service of three instances found through discovery, called by name while
// one instance stops gracefully and a new one starts. In-process discovery
// by default; give an etcd address to use etcd (e.g. etcd://127.0.0.1:2379).
#include <pseud/pseud.hpp>

#include <iostream>
#include <map>
#include <memory>

struct Instance {
  explicit Instance(const std::string& id) : server("echo", {.instance = id}) {
    server.register_rpc("whoami", [id] { return id; });
    endpoint = server.bind("tcp://127.0.0.1:*");
  }
  pseud::Server server;
  std::string endpoint;
  std::shared_ptr<pseud::Registration> registration;
};

int main(int argc, char** argv) {
  auto discovery = pseud::make_discovery(argc > 1 ? argv[1] : "static");
  std::map<std::string, std::unique_ptr<Instance>> instances;
  auto start = [&](const std::string& id) {
    auto instance = std::make_unique<Instance>(id);
    instance->registration = pseud::publish(instance->server, *discovery, {.endpoints = {instance->endpoint}});
    instances[id] = std::move(instance);
  };
  for (const char* id : {"a", "b", "c"}) start(id);

  pseud::ServiceClient echo("echo");
  echo.connect_service(discovery);
  auto round = [&](const char* title, bool print = true) {
    std::map<std::string, int> served;
    // whoami only reads: it may run again elsewhere if an instance is lost with it.
    for (int i = 0; i < 30; ++i) ++served[echo.call<std::string>("whoami", pseud::CallOptions{.idempotent = true})];
    if (!print) return served;
    std::cout << title << ":";
    for (const auto& [id, count] : served) std::cout << " " << id << "=" << count;
    std::cout << "\n";
    return served;
  };
  round("three instances");
  instances["b"]->server.stop(std::chrono::seconds(2));  // withdraws, drains, closes
  const bool b_left = round("b stopped").count("b") == 0;
  start("d");
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!round("", false).count("d") && std::chrono::steady_clock::now() < until) {
  }
  const bool d_serves = round("d started").count("d") > 0;
  return b_left && d_serves ? 0 : 1;
}
