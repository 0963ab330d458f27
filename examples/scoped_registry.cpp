// Scoped registries (Vortex's per-plugin namespacing): each plugin registers
// through a view that prefixes its names, so two plugins can both have an
// "add" without knowing of each other. pseud.inspect shows the full names.

#include <iostream>
#include <string>
#include <vector>

#include <pseud/pseud.hpp>

// A plugin sees only its scope.
void load_tutorial_plugin(pseud::ScopedRegistry scope) {
  scope.register_rpc("add", [](int a, int b) { return a + b; }, {.params = {"a", "b"}, .doc = "a + b"});
  scope.scoped("admin").register_rpc("reset", [] { return true; }, {.doc = "forgets everything"});
}

void load_other_plugin(pseud::ScopedRegistry scope) {
  scope.register_rpc("add", [](const std::string& a, const std::string& b) { return a + b; }, {.doc = "joins"});
}

// What pseud.inspect says of each function (it says more: see the README).
struct Entry {
  std::string name;
  std::string doc;
  MSGPACK_DEFINE_MAP(name, doc)
};

int main() {
  pseud::Server server("server");
  load_tutorial_plugin(server.scoped("peek_plugin_tutorial"));
  load_other_plugin(server.scoped("other_plugin"));

  pseud::Client client("server");
  client.connect(server.bind("tcp://127.0.0.1:*"));

  for (const Entry& entry : client.call<std::vector<Entry>>(pseud::introspection_function)) {
    std::cout << entry.name << (entry.doc.empty() ? "" : "  -- " + entry.doc) << "\n";
  }
  const int sum = client.call<int>("peek_plugin_tutorial.add", 1, 2);
  const std::string joined = client.call<std::string>("other_plugin.add", "pe", "ud");
  std::cout << "peek_plugin_tutorial.add(1, 2) = " << sum << "\nother_plugin.add('pe', 'ud') = " << joined << "\n";
  return sum == 3 && joined == "peud" ? 0 : 1;
}
