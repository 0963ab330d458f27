#pragma once
// WORK bodies the adversarial tests attack with, packed by hand so that
// their shape is exactly the one meant.

#include <cstddef>
#include <cstdint>
#include <string>

namespace pseud::test {

namespace detail_bodies {
inline void put_u32(std::string& out, std::size_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((value >> shift) & 0xff);
}
inline void put_name(std::string& out, const std::string& name) {
  out += static_cast<char>(0xa0 | name.size());  // fixstr: names here are under 32 bytes
  out += name;
}
}  // namespace detail_bodies

/// [name, [0, 0, ...], {}] of about `size` bytes: one msgpack object a byte,
/// the slowest a body of that size can be to decode.
inline std::string slow_work_body(const std::string& name, std::size_t size) {
  const std::size_t items = size - 16 - name.size();
  std::string body;
  body.reserve(size);
  body += '\x93';
  detail_bodies::put_name(body, name);
  body += '\xdd';  // array 32
  detail_bodies::put_u32(body, items);
  body.append(items, '\0');
  body += '\x80';
  return body;
}

/// [name, ["xxx..."], {}] of about `size` bytes: one large string argument.
inline std::string big_string_work_body(const std::string& name, std::size_t size) {
  const std::size_t length = size - 16 - name.size();
  std::string body;
  body.reserve(size);
  body += '\x93';
  detail_bodies::put_name(body, name);
  body += '\x91';
  body += '\xdb';  // str 32
  detail_bodies::put_u32(body, length);
  body.append(length, 'x');
  body += '\x80';
  return body;
}

/// [name, [number], {}].
inline std::string number_work_body(const std::string& name, double number) {
  std::string body = "\x93";
  detail_bodies::put_name(body, name);
  body += '\x91';
  body += '\xcb';  // float 64, big-endian
  std::uint64_t bits;
  static_assert(sizeof bits == sizeof number);
  __builtin_memcpy(&bits, &number, sizeof bits);
  for (int shift = 56; shift >= 0; shift -= 8) body += static_cast<char>((bits >> shift) & 0xff);
  body += '\x80';
  return body;
}

}  // namespace pseud::test
