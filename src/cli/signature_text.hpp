#pragma once
// `pseud inspect` renders each function's parameters as one readable line,
// from the map pseud.inspect answered (see src/peer/introspection.hpp):
//
//   greet(name: str, greeting: str = "Hello", *args, **kwargs)
//   add(int, int)          <- registered without names: positional only, types shown
//   echo(x)                <- type "any" is not shown
//
// Defaults are written as JSON (the tool's notation). The map comes from the
// network: anything malformed gives no line rather than a guess.

#include <optional>
#include <string>

#include <msgpack.hpp>

namespace pseud::cli {

/// The signature line of one pseud.inspect entry, or nullopt when the entry
/// has no str "name" or no "params" list of maps (a peer that does not
/// describe parameters, e.g. Python pseud).
std::optional<std::string> signature_text(const msgpack::object& entry);

/// The entry with "signature" added as its last key when signature_text()
/// gives one; otherwise a copy of the entry.
msgpack::object_handle with_signature(const msgpack::object& entry);

}  // namespace pseud::cli
