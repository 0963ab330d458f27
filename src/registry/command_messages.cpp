// Pieces of typed commands' error messages (command.hpp) that do not depend
// on the command's type.

#include <cstdio>
#include <string>
#include <string_view>

#include "pseud/command.hpp"

namespace pseud::detail {

std::string quoted_for_message(std::string_view text) {
  constexpr std::size_t limit = 64;
  std::string out = "'";
  for (std::size_t i = 0; i < text.size() && i < limit; ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if (byte >= 0x20 && byte < 0x7f && byte != '\'' && byte != '\\') {
      out += static_cast<char>(byte);
    } else {
      char escaped[5];
      std::snprintf(escaped, sizeof escaped, "\\x%02x", byte);
      out += escaped;
    }
  }
  out += "'";
  if (text.size() > limit) out += " (" + std::to_string(text.size()) + " bytes, the first " + std::to_string(limit) + " shown)";
  return out;
}

std::string_view kind_of(const msgpack::object& o) noexcept {
  switch (o.type) {
    case msgpack::type::NIL: return "None";
    case msgpack::type::BOOLEAN: return "bool";
    case msgpack::type::POSITIVE_INTEGER:
    case msgpack::type::NEGATIVE_INTEGER: return "int";
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64: return "float";
    case msgpack::type::STR: return "str";
    case msgpack::type::BIN: return "bytes";
    case msgpack::type::ARRAY: return "list";
    case msgpack::type::MAP: return "dict";
    case msgpack::type::EXT: return "ext";
  }
  return "an unknown msgpack type";
}

}  // namespace pseud::detail
