#pragma once
// Layer 6 (events): bytes as lowercase hex, for event ids, tickets and
// sources that are not printable.

#include <sodium.h>

#include <string>
#include <string_view>

namespace pseud::detail {

inline std::string hex_of(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string text;
  text.reserve(bytes.size() * 2);
  for (const unsigned char b : bytes) {
    text += digits[b >> 4];
    text += digits[b & 15];
  }
  return text;
}

/// `count` random bytes (libsodium's generator) as hex.
inline std::string random_hex(std::size_t count) {
  std::string bytes(count, '\0');
  randombytes_buf(bytes.data(), bytes.size());
  return hex_of(bytes);
}

}  // namespace pseud::detail
