// A plugin as the PSEUD_PLUGIN macro of plugin interface version 1 built
// one: an entry point refusing any other version, and no exported version.
// The loader must refuse it, naming both versions, without running it.

#include <atomic>

extern "C" __attribute__((visibility("default"))) int pseud_plugin_register(int abi) {
  if (abi != 1) return 1;
  return 0;
}
