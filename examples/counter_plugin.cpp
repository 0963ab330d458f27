// A counter as a plugin: an executable its host starts as a child process
// (protocol/PLUGINS.md); examples/plugin_host.cpp is such a host, and so is
// `pseud plugin --cookie COUNTER_PLUGIN=counter-v1 --versions 1,2 -- ./counter_plugin`.
//
// The cookie COUNTER_PLUGIN=counter-v1 is what this plugin and its hosts
// agree on: a plugin started without it (from a shell, say) says it is a
// plugin and exits. It is not a secret. Change the value only when a plugin of
// the old kind must no longer load; compatible changes are protocol versions:
//
//   version 1: count() adds one and returns the new count; get_count()
//   version 2: the same, and reset() sets the count back to 0
//
// serve_plugin picks the highest version the host offers too. The optional
// argument `--versions LIST` (e.g. `--versions 1`) narrows what this plugin
// offers; a version above 2 serves version 2's functions (a plugin from the
// future, for trying out a host that cannot speak to it).
#include <pseud/pseud.hpp>

#include <atomic>
#include <cstring>
#include <iostream>

int main(int argc, char** argv) {
  const pseud::PluginCookie cookie{"COUNTER_PLUGIN", "counter-v1"};
  std::vector<int> offered{1, 2};
  try {
    if (argc == 3 && std::strcmp(argv[1], "--versions") == 0) {
      offered = pseud::parse_plugin_versions(argv[2], "--versions");
    } else if (argc != 1) {
      throw pseud::UsageError("usage: counter_plugin [--versions LIST]");
    }
  } catch (const pseud::UsageError& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }

  // Handlers may run on several threads at once: the count is atomic.
  std::atomic<int> count{0};

  pseud::Registry version1;
  version1.register_rpc("count", [&count] { return ++count; }, {.doc = "Adds one; returns the new count."});
  version1.register_rpc("get_count", [&count] { return count.load(); }, {.doc = "Returns the count."});
  // Version 2 is version 1 (its parent registry, searched after it) plus reset().
  pseud::Registry version2(&version1);
  version2.register_rpc("reset", [&count] { count = 0; }, {.doc = "Sets the count back to 0."});

  std::vector<pseud::PluginVersion> versions;
  for (const int version : offered) versions.emplace_back(version, version == 1 ? version1 : version2);
  // Checks the cookie, agrees on a version, serves it until the host shuts it
  // down (or SIGTERM, or the host goes away); 0 then, 1 when it must not run.
  return pseud::serve_plugin(cookie, versions);
}
