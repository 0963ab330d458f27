#pragma once
// Layer 1 (wire): a structural pre-pass over msgpack bytes. It walks the
// buffer once, allocates nothing, and proves that every declared container
// or string fits in the bytes that follow. msgpack-c reserves memory from
// declared counts before reading elements ("dd ff ff ff ff" asks for ~96 GiB),
// so nothing reaches msgpack::unpack unless this scan accepted it.

#include <cstddef>
#include <optional>
#include <string_view>

namespace pseud::wire {

/// Deepest container nesting a body may have.
inline constexpr std::size_t max_body_depth = 64;

/// Why a msgpack body was refused.
enum class BodyError {
  empty,           ///< no bytes at all
  truncated,       ///< a value or declared element runs past the end
  invalid_byte,    ///< 0xc1, which msgpack never uses
  too_deep,        ///< nesting beyond the depth limit
  trailing_bytes,  ///< bytes left after the first complete value
};

/// Human-readable reason, for logs and ERROR replies.
std::string_view body_error_text(BodyError error) noexcept;

/// Checks that `bytes` hold exactly one well-formed msgpack value nested at
/// most `max_depth` deep. O(size), no allocation.
std::optional<BodyError> scan_msgpack(std::string_view bytes, std::size_t max_depth = max_body_depth) noexcept;

/// True when every map key in `bytes` (one valid msgpack value, as our own
/// packer wrote it) is a str or bin: Python pseud 2.x refuses other keys.
bool map_keys_are_strings(std::string_view bytes) noexcept;

}  // namespace pseud::wire
