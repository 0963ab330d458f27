#pragma once
// Layer 1 (wire): a structural pre-pass over msgpack bytes. It walks the
// buffer once, allocates nothing, and proves that every declared container
// or string fits in the bytes that follow. msgpack-c reserves memory from
// declared counts before reading elements ("dd ff ff ff ff" asks for ~96 GiB),
// so nothing reaches msgpack::unpack unless this scan accepted it.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
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

/// True when `text` is UTF-8 as Python's strict decoder accepts it: no
/// overlong forms, no surrogates (U+D800..U+DFFF), nothing above U+10FFFF,
/// no truncated sequence. NUL is fine.
bool valid_utf8(std::string_view text) noexcept;

/// Index of the first byte of `text` that is not part of a valid UTF-8
/// sequence, or std::string_view::npos.
std::size_t invalid_utf8_at(std::string_view text) noexcept;

/// `text` with each ill-formed UTF-8 subsequence replaced by U+FFFD, as
/// Python's `bytes.decode("utf-8", "replace")` does. Valid text is returned unchanged.
std::string replace_invalid_utf8(std::string_view text);

// ---- what a Python pseud peer cannot decode (protocol/README.md §8) ----
//
// A Python pseud peer decodes every body in its one reader task; an exception
// there stops the task for good. Before a body is sent, one pass over its
// bytes looks for the values that raise there.

/// Which checks run; each is one PeerOptions flag.
struct PythonChecks {
  bool map_keys = true;     ///< every map key is str or bin (PeerOptions::strict_map_keys)
  bool utf8 = true;         ///< every str is valid UTF-8 (PeerOptions::strict_utf8)
  bool pickled_ext = true;  ///< no ext type 123..126 (PeerOptions::allow_python_ext off)

  [[nodiscard]] bool any() const noexcept { return map_keys || utf8 || pickled_ext; }
};

/// Python pseud's ext codes, whose payload it unpickles: 123 tzinfo,
/// 124 timedelta, 125 datetime, 126 date (pseud/packer.py).
inline constexpr bool is_pickled_ext(std::int8_t type) noexcept { return type >= 123 && type <= 126; }

enum class PythonHazard : std::uint8_t {
  none,
  malformed,     ///< not one well-formed msgpack value (Python raises on it too)
  map_key,       ///< a map key that is neither str nor bin
  invalid_utf8,  ///< a str that is not valid UTF-8
  pickled_ext,   ///< an ext value of type 123..126
};

/// The first hazard in a body, in byte order.
struct PythonFinding {
  PythonHazard hazard = PythonHazard::none;
  std::size_t offset = 0;  ///< where the offending value (its first byte) starts in the body
  std::size_t detail = 0;  ///< invalid_utf8: index of the first bad byte in the str; pickled_ext: the ext type

  explicit operator bool() const noexcept { return hazard != PythonHazard::none; }
};

/// One pass over `bytes`, no allocation: `malformed` when `bytes` is not one
/// well-formed msgpack value (even past an earlier hazard), else the first
/// value a Python pseud peer cannot decode under `checks`, else none.
PythonFinding find_python_hazard(std::string_view bytes, PythonChecks checks) noexcept;

/// Where a finding is, what it is and what it does to a Python peer, for error
/// messages: "positional argument 2 holds a str that is not valid UTF-8 (byte
/// 0xff at index 0): a Python pseud peer's reader stops for good on it".
/// `work`: the body is a WORK `[name, args, kwargs]` (else the result of a call).
std::string describe_python_hazard(std::string_view body, const PythonFinding& finding, bool work);

/// What a user can do about a finding, as a sentence: the type to use instead, the PeerOptions flag.
std::string_view python_hazard_remedy(PythonHazard hazard) noexcept;

}  // namespace pseud::wire
