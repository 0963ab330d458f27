#include "security/libzmq_patch.hpp"

#include <dlfcn.h>
#include <zmq.h>

namespace pseud::detail {

namespace {
// Exported by .ci/libzmq/0002-pseud-marker.patch.
constexpr const char* marker_symbol = "pseud_libzmq_routing_id_patch";
}  // namespace

LoadedLibzmq loaded_libzmq() {
  LoadedLibzmq loaded;
  Dl_info info{};
  if (::dladdr(reinterpret_cast<void*>(&::zmq_version), &info) == 0 || info.dli_fname == nullptr) return loaded;
  loaded.path = info.dli_fname;
  // The same object again (RTLD_NOLOAD: never a second copy), to look the marker up in it alone.
  if (void* handle = ::dlopen(info.dli_fname, RTLD_LAZY | RTLD_NOLOAD)) {
    using Marker = int (*)();
    if (auto marker = reinterpret_cast<Marker>(::dlsym(handle, marker_symbol))) loaded.routing_id_patch = marker() == 1;
    ::dlclose(handle);
  }
  return loaded;
}

}  // namespace pseud::detail
