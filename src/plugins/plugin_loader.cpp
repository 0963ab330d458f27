// Layer 6 (plugins): loading shared-object plugins by path.

#include <dlfcn.h>

#include <mutex>
#include <set>

#include "pseud/backends.hpp"

namespace pseud {

void load_plugin(const std::string& path) {
  static std::mutex mutex;
  static std::set<std::string> loaded;
  std::lock_guard lock(mutex);
  if (loaded.count(path)) return;
  // RTLD_LOCAL: a plugin's own symbols stay private; it reaches the library
  // through the registration functions it links against. Never unloaded: its
  // factories may be in use until the process ends.
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* why = dlerror();
    throw Error("cannot load plugin " + path + ": " + (why ? why : "unknown error"));
  }
  using Entry = int (*)(int);
  auto entry = reinterpret_cast<Entry>(dlsym(handle, PSEUD_PLUGIN_ENTRY_NAME));
  if (!entry) {
    dlclose(handle);
    throw Error("cannot load plugin " + path + ": it exports no " PSEUD_PLUGIN_ENTRY_NAME
                " entry point (define one with PSEUD_PLUGIN { ... })");
  }
  // The version is read before the entry point runs: one built
  // against other headers may not even agree with us on what a backend is.
  const auto* version = static_cast<const int*>(dlsym(handle, PSEUD_PLUGIN_VERSION_NAME));
  const int built_for = version ? *version : 1;  // version 1 exported no version
  if (built_for != plugin_abi_version) {
    dlclose(handle);
    throw Error("plugin " + path + " was built for plugin interface version " + std::to_string(built_for) +
                ", this library has version " + std::to_string(plugin_abi_version) +
                ": rebuild it against this library's headers");
  }
  const int status = entry(plugin_abi_version);
  if (status != 0) {
    dlclose(handle);
    throw Error("plugin " + path + " refused to register (status " + std::to_string(status) +
                (status == 1 ? ": built for another plugin interface version)" : ")"));
  }
  loaded.insert(path);
}

}  // namespace pseud
