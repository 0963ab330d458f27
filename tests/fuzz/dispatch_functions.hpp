#pragma once
// The registry the "dispatch" target calls into: functions of the shapes
// handlers take (ints, strings, bytes, containers, a user struct, *args,
// **kwargs, defaults, identity, Caller), domain predicates, and handlers
// that throw each exception class the ERROR mapping knows.

#include "pseud/registry.hpp"

namespace pseud::fuzz {

/// A peer's local registry over a stand-in for the process-wide one,
/// built once; its functions keep no state between calls.
const Registry& dispatch_registry();

}  // namespace pseud::fuzz
