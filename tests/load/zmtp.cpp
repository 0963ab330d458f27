#include "zmtp.hpp"

namespace pseud::load::zmtp {

std::string greeting() {
  std::string out(greeting_size, '\0');
  out[0] = static_cast<char>(0xff);  // signature: ff, 8 bytes of padding, 7f
  out[9] = 0x7f;
  out[10] = 3;  // version 3.1
  out[11] = 1;
  out.replace(12, 4, "NULL");  // mechanism, 20 bytes, zero padded; as-server (byte 32) 0; filler
  return out;
}

bool valid_greeting(std::string_view bytes) {
  return bytes.size() == greeting_size && static_cast<std::uint8_t>(bytes[0]) == 0xff && bytes[9] == 0x7f &&
         bytes[10] >= 3 && bytes.substr(12, 5) == std::string_view("NULL\0", 5);
}

namespace {

void append_property(std::string& out, std::string_view name, std::string_view value) {
  out += static_cast<char>(name.size());
  out += name;
  const auto size = static_cast<std::uint32_t>(value.size());
  for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((size >> shift) & 0xff);
  out += value;
}

}  // namespace

std::string ready(std::string_view socket_type, std::string_view identity) {
  std::string body;
  body += static_cast<char>(5);
  body += "READY";
  append_property(body, "Socket-Type", socket_type);
  append_property(body, "Identity", identity);
  std::string out;
  append_frame(out, body, false, true);
  return out;
}

void append_frame(std::string& out, std::string_view body, bool more, bool command) {
  std::uint8_t flags = (more ? flag_more : 0) | (command ? flag_command : 0);
  if (body.size() > 255) {
    out += static_cast<char>(flags | flag_long);
    const auto size = static_cast<std::uint64_t>(body.size());
    for (int shift = 56; shift >= 0; shift -= 8) out += static_cast<char>((size >> shift) & 0xff);
  } else {
    out += static_cast<char>(flags);
    out += static_cast<char>(body.size());
  }
  out += body;
}

std::optional<std::pair<Frame, std::size_t>> next_frame(std::string_view bytes, std::uint64_t limit) {
  if (bytes.size() < 2) return std::nullopt;
  Frame frame;
  frame.flags = static_cast<std::uint8_t>(bytes[0]);
  std::size_t header = 2;
  std::uint64_t size = static_cast<std::uint8_t>(bytes[1]);
  if (frame.flags & flag_long) {
    header = 9;
    if (bytes.size() < header) return std::nullopt;
    size = 0;
    for (int i = 1; i <= 8; ++i) size = (size << 8) | static_cast<std::uint8_t>(bytes[i]);
    if (size > limit) return std::make_pair(Frame{}, std::size_t{0});
  }
  if (bytes.size() - header < size) return std::nullopt;
  frame.body = bytes.substr(header, size);
  return std::make_pair(frame, header + static_cast<std::size_t>(size));
}

std::optional<std::string_view> ready_property(std::string_view body, std::string_view name) {
  if (body.empty()) return std::nullopt;
  std::size_t at = 1 + static_cast<std::uint8_t>(body[0]);  // past the command name
  while (at < body.size()) {
    const std::size_t name_size = static_cast<std::uint8_t>(body[at]);
    if (at + 1 + name_size + 4 > body.size()) return std::nullopt;
    const std::string_view key = body.substr(at + 1, name_size);
    at += 1 + name_size;
    std::uint32_t value_size = 0;
    for (int i = 0; i < 4; ++i) value_size = (value_size << 8) | static_cast<std::uint8_t>(body[at + i]);
    at += 4;
    if (value_size > body.size() - at) return std::nullopt;
    if (key == name) return body.substr(at, value_size);
    at += value_size;
  }
  return std::nullopt;
}

}  // namespace pseud::load::zmtp
