#pragma once
// Layer 5 (peer): the answer of `pseud.inspect`, one map per visible function:
//
//   {"name": "greet", "doc": "Greets name.",
//    "params": [{"name": "name", "type": "str"},
//               {"name": "greeting", "type": "str", "default": "Hello"}],
//    "args": false, "kwargs": true}
//
// "name" and "doc" are what pseud v1 peers always got; the other keys are
// additions a Python peer may ignore. A parameter registered without names
// has no "name" (it is positional only); "default" is there only when the
// parameter has one.

#include <memory>
#include <vector>

#include <msgpack.hpp>

#include "pseud/registry.hpp"

namespace pseud::detail {

/// The introspection answer for `routes`, in their order.
msgpack::object_handle introspection_listing(const std::vector<std::shared_ptr<const Route>>& routes);

}  // namespace pseud::detail
