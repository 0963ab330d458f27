#pragma once
// Checks shared by the targets that decode msgpack bodies the way the engine
// does (wire::unpack_body), so every such target also checks the codec itself.

#include <optional>
#include <string>
#include <string_view>

#include <msgpack.hpp>

namespace pseud::fuzz {

/// Unpacks `body` with wire::unpack_body and checks that: the structural scan
/// and the unpack agree; the unpacked value holds at most 64 bytes of heap
/// per body byte (plus 64 KiB); it nests at most 64 levels (empty arrays and
/// maps count); map_keys_are_strings() and find_python_hazard() tell the truth; the value
/// re-packed as pseud++ packs it unpacks again and re-packs to the same bytes,
/// at most twice the size of `body`. Returns the value, or nullopt when refused.
std::optional<msgpack::object_handle> unpack_checked(std::string_view body);

/// `value` packed as pseud++ packs every value it sends (floats as float64).
std::string packed(const msgpack::object& value);

}  // namespace pseud::fuzz
