#pragma once
// Layer 1 (wire): msgpack body codecs for WORK, OK, ERROR and HELLO.
// Decoding is bounded: scan_msgpack() runs first and unpack limits are
// derived from the body length, so no declared size is ever trusted.

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include <msgpack.hpp>

#include "pseud/detail/work_body.hpp"
#include "wire/msgpack_scan.hpp"

namespace pseud::wire {

/// Validates and unpacks one msgpack value. str and bin payloads are copied
/// into the handle's zone, so the result does not view into `bytes`.
std::variant<msgpack::object_handle, BodyError> unpack_body(std::string_view bytes) noexcept;

/// A WORK body `[name, args, kwargs]`, viewing into an unpacked object: the
/// very type a handler receives (as the base of detail::Invocation).
using WorkBody = pseud::detail::WorkBody;

/// Why a WORK body was refused, as the ERROR a Python peer understands.
struct WorkRejection {
  std::string class_name;  ///< "TypeError" or "ServiceNotFoundError"
  std::string message;
};

/// Checks the shape `[str, array, map with str keys]`.
std::variant<WorkBody, WorkRejection> decode_work(const msgpack::object& body);

/// An ERROR body: Python class name, message, traceback text.
struct ErrorBody {
  std::string name;
  std::string message;
  std::string traceback;
};

/// Encodes `[name, message, traceback]` as three msgpack str. Bytes that are
/// not valid UTF-8 are replaced with U+FFFD (a Python caller cannot decode them).
void encode_error(msgpack::sbuffer& out, std::string_view name, std::string_view message, std::string_view traceback);

/// Decodes an ERROR body; str and bin elements are both accepted.
/// Returns nullopt when it is not an array of three strings.
std::optional<ErrorBody> decode_error(const msgpack::object& body);

/// A HELLO body: `[login, password]`, sent as bin.
struct HelloBody {
  std::string login;
  std::string password;
};

/// Encodes `[bin login, bin password]` as Python pseud's backends do.
void encode_hello(msgpack::sbuffer& out, std::string_view login, std::string_view password);

/// Decodes a HELLO body; only two bin elements are accepted, as pseud does.
std::optional<HelloBody> decode_hello(const msgpack::object& body);

/// Python's repr() of a bytes value (b'add', b'\x00'): the message pseud
/// puts in ServiceNotFoundError for a non-str name.
std::string python_bytes_repr(std::string_view bytes);

}  // namespace pseud::wire
