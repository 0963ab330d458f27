#pragma once
// The `pseud` tool's JSON <-> msgpack codec: arguments are parsed from JSON,
// results are printed as JSON lines. nlohmann-json reads and writes the
// JSON (Debian's nlohmann-json3-dev); json.cpp adds the rules below.
//
// The mapping (the tool's contract):
//
//   JSON                          msgpack
//   null, true, false             nil, bool
//   "text"                        str (UTF-8)
//   [a, b, ...]                   array
//   {"k": v, ...}                 map with str keys, in the order given
//   integer in int64 or uint64    int, minimal encoding (as msgpack-c packs)
//   any other number              float64 (a fraction or an exponent, or
//                                 beyond 64 bits: 1.0, 1e3 and 2^64 are floats;
//                                 always 0xcb, where msgpack-c's pack_double()
//                                 would turn 1.0 into the int 1)
//   {"$bytes": "00ff"}            bin
//   {"$map": [[k, v], ...]}       map, keys of any type
//   {"$ext": 5, "hex": "0102"}    ext of type 5 (-128..127)
//
// Tagged forms. An object whose FIRST key is "$bytes", "$map" or "$ext" is
// that tagged form and must have exactly the form's keys, in that order, else
// JsonError. Any other object is an ordinary map, including objects with
// other "$..." keys and objects where a tag name is not the first key. Hex is
// case-insensitive on input (an odd number of digits is an error), lowercase
// on output.
//
// Input is strict RFC 8259 JSON, one value with optional whitespace around:
// no comments, trailing commas, single quotes, NaN/Infinity, leading zeros
// or leading '+'; strings must be UTF-8 without raw control characters;
// \uXXXX escapes (surrogate pairs included) become UTF-8, a lone surrogate is
// an error. Further rules of this codec:
//   - "-0" is the integer 0 (as Python reads it); "-0.0" is float64 -0.0.
//   - A float beyond float64's range (1e400) is an error; one too small to
//     represent (1e-400) becomes 0.0 with its sign.
//   - Duplicate keys in an ordinary object are an error (use "$map" to send a
//     map with repeated keys).
//   - At most max_json_depth (64) nested arrays and maps, counted in msgpack:
//     the wrappers of the tagged forms do not count, so anything to_json()
//     prints parses back.
// Errors are JsonError, located one of two ways:
//   - What nlohmann's parser refuses (the grammar, and lone surrogates) is
//     at the byte where it stopped reading: its position less one, counted
//     from 0, the end of the text counting as one byte. A byte order mark,
//     a NUL byte and (in parse_argument) a byte that is not UTF-8 are
//     refused before it reads, at their own byte. The words are nlohmann's
//     for its errors; for {"a": 1 "b": 2}:
//       invalid JSON at byte 10: syntax error while parsing object - unexpected string literal; expected '}'
//   - What breaks a rule of this codec that nlohmann does not know (a
//     duplicate key, the depth limit, a misused tagged form, a value beyond
//     float64 or beyond what msgpack can count) is at the JSON path of the
//     value: "$" is the whole text, ".name" an object's member whose name is
//     a plain identifier (ASCII letters, digits and '_', not starting with a
//     digit), ["name"] any other member (its name as a JSON string), [i] an
//     array's element, counted from 0:
//       invalid JSON at $.args[2].b: duplicate key "b" (a map with repeated keys is written as "$map")
//
// Output (to_json) is one line of compact JSON, always valid UTF-8, and
// parses back to the same msgpack except where noted:
//   - Strings escape the quote, the backslash and control characters
//     (\b \f \n \r \t, the others as \u00xx); the rest is written as is.
//   - A str that is not valid UTF-8 is written as {"$bytes": ...} of its
//     bytes (it parses back as bin).
//   - A map is written as a JSON object when all its keys are distinct UTF-8
//     str and its first key is not a tag name; otherwise as {"$map": ...}.
//   - float64 and float32 are written in the shortest form that reads back to
//     the same value, always with a '.' or an exponent so they stay floats
//     (1.0, -0.0, 1e+21). float32 comes back as float64. NaN and infinities
//     are not JSON: they are written as null.
//   - Arrays and maps nested deeper than max_json_depth are refused
//     (pseud::ConversionError): the wire never delivers such values anyway.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <msgpack.hpp>

#include "pseud/errors.hpp"

namespace pseud::cli {

/// Nesting limit of arrays and maps, both ways; the wire layer's limit too.
inline constexpr std::size_t max_json_depth = 64;

/// A JSON text was refused, at a byte (offset()) or at a value (path()).
class JsonError : public UsageError {
 public:
  /// At byte `offset` of the text, counted from 0.
  JsonError(std::size_t offset, const std::string& problem);
  /// At the value named by the JSON path `path` ("$", "$.a[2]", "$[\"$map\"][0]").
  JsonError(std::string path, const std::string& problem);

  /// The byte offset into the JSON text, when the error is at a byte.
  std::optional<std::size_t> offset() const noexcept { return offset_; }
  /// The JSON path of the value, when the error is at a value; else empty.
  const std::string& path() const noexcept { return path_; }

 private:
  std::optional<std::size_t> offset_;
  std::string path_;
};

/// Parses one JSON text and packs it as one msgpack value. Nothing is
/// written to `out` when the text is refused (JsonError).
void json_to_msgpack(std::string_view json, msgpack::packer<msgpack::sbuffer>& out);

/// Convenience: json_to_msgpack() unpacked into a msgpack object.
msgpack::object_handle parse_json(std::string_view json);

/// The tool's argument rule: text that is not JSON by the RFC 8259 grammar
/// (`hello`, `[1,2`, `01234`, `'x'`) is taken as itself, a str; text that is
/// JSON is parsed as parse_json() does. JSON that breaks a rule of this
/// codec (a misused tagged form, a duplicate key, too deep, a number beyond
/// float64, a lone surrogate) is an error rather than a string, since it was
/// meant as JSON; so is text that is not UTF-8 (pass bytes as "$bytes").
/// To pass the string "42" or "true", quote it: '"42"'.
msgpack::object_handle parse_argument(std::string_view text);

/// True when `text` is well-formed UTF-8 (no overlong forms, no surrogates).
bool is_utf8(std::string_view text) noexcept;

/// Renders a msgpack object as one line of compact JSON (no newline).
std::string to_json(const msgpack::object& value);

}  // namespace pseud::cli
