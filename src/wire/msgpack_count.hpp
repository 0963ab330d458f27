#pragma once
// Layer 1 (wire): how many msgpack objects a body decodes into, found
// without decoding it. Decoding allocates one msgpack::object (24 bytes) per
// value, so a 4 MiB body of small integers takes ~100 MiB: the engine weighs
// a large body by this count before it decodes it.

#include <cstddef>
#include <optional>
#include <string_view>

namespace pseud::wire {

/// Values in the msgpack value that starts `bytes` (containers count once,
/// plus their elements); nullopt when the bytes end before it does. O(size),
/// no allocation, no recursion.
std::optional<std::size_t> count_msgpack_objects(std::string_view bytes) noexcept;

}  // namespace pseud::wire
