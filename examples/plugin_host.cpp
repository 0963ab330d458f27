// A host of the counter plugin (examples/counter_plugin.cpp): starts it as a
// child process, offering protocol versions 1 and 2, counts three times, reads
// the count, resets it when the plugin speaks version 2, and closes it.
//
//   plugin_host [PATH [ARG...]]   (default: counter_plugin next to this program)
//
// Any counter speaking the protocol will do, in any language, e.g. the Python
// one of the tests:
//   plugin_host /usr/bin/python3 tests/plugin_process/pyplugin.py --cookie COUNTER_PLUGIN=counter-v1
//
// Exits 0 only when every answer and the plugin's exit are as expected.
#include <pseud/pseud.hpp>

#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  std::vector<std::string> command(argv + 1, argv + argc);
  if (command.empty())
    command.push_back((std::filesystem::read_symlink("/proc/self/exe").parent_path() / "counter_plugin").string());
  try {
    // Starts it and waits for its handshake and first answer: the plugin is
    // ready, or this throws pseud::PluginError saying why not.
    pseud::PluginProcess counter({.argv = command,
                                  .cookie = {"COUNTER_PLUGIN", "counter-v1"},
                                  .versions = {1, 2}});
    std::cout << "started " << counter.name() << " (pid " << counter.pid() << "), protocol version "
              << counter.version() << ", at " << counter.endpoint() << "\n";

    pseud::Client& client = counter.client();
    bool as_expected = true;
    for (int expected = 1; expected <= 3; ++expected) {
      const int count = client.call<int>("count");
      std::cout << "count() -> " << count << "\n";
      as_expected = as_expected && count == expected;
    }
    const int total = client.call<int>("get_count");
    std::cout << "get_count() -> " << total << "\n";
    as_expected = as_expected && total == 3;
    if (counter.version() == 2) {  // reset() came with version 2
      client.call<void>("reset");
      const int after_reset = client.call<int>("get_count");
      std::cout << "reset(); get_count() -> " << after_reset << "\n";
      as_expected = as_expected && after_reset == 0;
    }

    // Asks the plugin to shut down; SIGTERM, then SIGKILL, if it does not.
    const pseud::PluginExit ended = counter.close();
    std::cout << "closed: " << ended.describe() << "\n";
    return as_expected && ended.exited && ended.code == 0 ? 0 : 1;
  } catch (const pseud::Error& e) {
    std::cerr << "plugin_host: " << e.what() << "\n";
    return 1;
  }
}
