#pragma once
// Whether the libzmq in use carries pseud++'s routing-id patch
// (.ci/libzmq, docs/libzmq-patch.md): without it a peer that announces the
// routing id libzmq would generate next makes a server abort when the next
// anonymous peer connects.

#include <string>

namespace pseud::detail {

/// True when this library was built against the patched libzmq (meson
/// -Dlibzmq=patched, the default); false with -Dlibzmq=system.
inline constexpr bool built_with_patched_libzmq = PSEUD_LIBZMQ_PATCHED != 0;

/// The libzmq this process has loaded.
struct LoadedLibzmq {
  std::string path;               ///< the shared object zmq_version() lives in ("" if unknown)
  bool routing_id_patch = false;  ///< it exports the patch's marker symbol
};

/// Looks at the libzmq loaded now (its file, and the marker symbol in it).
LoadedLibzmq loaded_libzmq();

}  // namespace pseud::detail
