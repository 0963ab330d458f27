#pragma once
/// The error a typed command (command.hpp) throws when a msgpack value does
/// not decode into it. A handler's caller receives it as a TypeError, a
/// caller converting a reply as a ConversionError, both with this text.

#include <string>

#include <msgpack.hpp>

namespace pseud {

/// A value does not decode into a command: not a map, a missing field, a
/// field of the wrong type, an unknown "__type__" tag. what() names the
/// command and the field, e.g. "calc.add: field 'b' must be int, got str".
/// Derives from msgpack::type_error, so code that catches msgpack's
/// conversion errors catches it too.
class FieldError : public msgpack::type_error {
 public:
  explicit FieldError(std::string message) : message_(std::move(message)) {}
  const char* what() const noexcept override { return message_.c_str(); }

 private:
  std::string message_;
};

}  // namespace pseud
