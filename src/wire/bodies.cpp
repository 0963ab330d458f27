#include "wire/bodies.hpp"

#include <cstdio>

namespace pseud::wire {

namespace {

bool is_text(const msgpack::object& o) noexcept {
  return o.type == msgpack::type::STR || o.type == msgpack::type::BIN;
}

std::string_view text_of(const msgpack::object& o) noexcept {
  return o.type == msgpack::type::STR ? std::string_view{o.via.str.ptr, o.via.str.size}
                                      : std::string_view{o.via.bin.ptr, o.via.bin.size};
}

// msgpack-c leaves the pointer of an empty str null when no length field
// came before it in the body ("91 a0"); copying such an object
// (msgpack::clone, as call<object_handle> does) then hands memcpy a null
// source, which is undefined. Point every empty str and bin at storage.
void give_empty_strings_storage(msgpack::object& o) noexcept {
  static constexpr char no_bytes[1] = {};
  switch (o.type) {
    case msgpack::type::STR:
      if (!o.via.str.ptr) o.via.str.ptr = no_bytes;
      return;
    case msgpack::type::BIN:
      if (!o.via.bin.ptr) o.via.bin.ptr = no_bytes;
      return;
    case msgpack::type::ARRAY:
      for (std::uint32_t i = 0; i < o.via.array.size; ++i) give_empty_strings_storage(o.via.array.ptr[i]);
      return;
    case msgpack::type::MAP:
      for (std::uint32_t i = 0; i < o.via.map.size; ++i) {
        give_empty_strings_storage(o.via.map.ptr[i].key);
        give_empty_strings_storage(o.via.map.ptr[i].val);
      }
      return;
    default:
      return;
  }
}

}  // namespace

std::variant<msgpack::object_handle, BodyError> unpack_body(std::string_view bytes) noexcept {
  if (auto error = scan_msgpack(bytes)) return *error;
  // The scan proved every count fits; these limits are a second line.
  const std::size_t n = bytes.size();
  const msgpack::unpack_limit limit(n, n / 2 + 1, n, n, n, max_body_depth + 1);
  try {
    std::size_t offset = 0;
    msgpack::object_handle handle = msgpack::unpack(bytes.data(), n, offset, nullptr, nullptr, limit);
    if (offset != n) return BodyError::trailing_bytes;
    msgpack::object top = handle.get();
    give_empty_strings_storage(top);  // recursion bounded by the scan's depth limit
    handle.set(top);
    return handle;
  } catch (const msgpack::insufficient_bytes&) {
    return BodyError::truncated;
  } catch (const msgpack::depth_size_overflow&) {
    return BodyError::too_deep;
  } catch (...) {
    return BodyError::truncated;
  }
}

std::variant<WorkBody, WorkRejection> decode_work(const msgpack::object& body) {
  if (body.type != msgpack::type::ARRAY || body.via.array.size != 3) {
    return WorkRejection{"TypeError", "malformed WORK body: expected [name, args, kwargs]"};
  }
  const msgpack::object& name = body.via.array.ptr[0];
  const msgpack::object& args = body.via.array.ptr[1];
  const msgpack::object& kwargs = body.via.array.ptr[2];
  if (name.type == msgpack::type::BIN) {
    // Python pseud looks a bytes name up, finds nothing and reports its repr.
    return WorkRejection{"ServiceNotFoundError", python_bytes_repr(text_of(name))};
  }
  if (name.type != msgpack::type::STR) {
    return WorkRejection{"TypeError", "malformed WORK body: the function name must be a string"};
  }
  if (args.type != msgpack::type::ARRAY) {
    return WorkRejection{"TypeError", "malformed WORK body: positional arguments must be an array"};
  }
  if (kwargs.type != msgpack::type::MAP) {
    return WorkRejection{"TypeError", "malformed WORK body: keyword arguments must be a map"};
  }
  for (std::uint32_t i = 0; i < kwargs.via.map.size; ++i) {
    if (kwargs.via.map.ptr[i].key.type != msgpack::type::STR) {
      return WorkRejection{"TypeError", "keywords must be strings"};
    }
  }
  return WorkBody{text_of(name), args.via.array.ptr, args.via.array.size, kwargs.via.map.ptr, kwargs.via.map.size};
}

void encode_error(msgpack::sbuffer& out, std::string_view name, std::string_view message, std::string_view traceback) {
  msgpack::packer<msgpack::sbuffer> packer(out);
  packer.pack_array(3);
  for (std::string_view part : {name, message, traceback}) {
    // Exception texts may hold any bytes (a path, an echoed argument): a
    // Python caller's reader dies on a str that is not UTF-8, so ill-formed
    // bytes become U+FFFD, as Python's "replace" error handler would decode them.
    std::string replaced;
    if (!valid_utf8(part)) part = replaced = replace_invalid_utf8(part);
    packer.pack_str(static_cast<std::uint32_t>(part.size()));
    packer.pack_str_body(part.data(), static_cast<std::uint32_t>(part.size()));
  }
}

std::optional<ErrorBody> decode_error(const msgpack::object& body) {
  if (body.type != msgpack::type::ARRAY || body.via.array.size != 3) return std::nullopt;
  const msgpack::object* parts = body.via.array.ptr;
  if (!is_text(parts[0]) || !is_text(parts[1]) || !is_text(parts[2])) return std::nullopt;
  return ErrorBody{std::string(text_of(parts[0])), std::string(text_of(parts[1])), std::string(text_of(parts[2]))};
}

void encode_hello(msgpack::sbuffer& out, std::string_view login, std::string_view password) {
  msgpack::packer<msgpack::sbuffer> packer(out);
  packer.pack_array(2);
  for (std::string_view part : {login, password}) {
    packer.pack_bin(static_cast<std::uint32_t>(part.size()));
    packer.pack_bin_body(part.data(), static_cast<std::uint32_t>(part.size()));
  }
}

std::optional<HelloBody> decode_hello(const msgpack::object& body) {
  if (body.type != msgpack::type::ARRAY || body.via.array.size != 2) return std::nullopt;
  const msgpack::object* parts = body.via.array.ptr;
  if (parts[0].type != msgpack::type::BIN || parts[1].type != msgpack::type::BIN) return std::nullopt;
  return HelloBody{std::string(text_of(parts[0])), std::string(text_of(parts[1]))};
}

std::string python_bytes_repr(std::string_view bytes) {
  const bool has_single = bytes.find('\'') != std::string_view::npos;
  const bool has_double = bytes.find('"') != std::string_view::npos;
  const char quote = (has_single && !has_double) ? '"' : '\'';
  std::string out = "b";
  out += quote;
  for (const char c : bytes) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '\\' || c == quote) {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (byte < 0x20 || byte >= 0x7f) {
      char hex[5];
      std::snprintf(hex, sizeof hex, "\\x%02x", byte);
      out += hex;
    } else {
      out += c;
    }
  }
  out += quote;
  return out;
}

}  // namespace pseud::wire
