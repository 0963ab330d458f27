#include "wire/msgpack_count.hpp"

#include <cstdint>

namespace pseud::wire {

namespace {

std::uint64_t big_endian(const unsigned char* p, int bytes) noexcept {
  std::uint64_t value = 0;
  for (int i = 0; i < bytes; ++i) value = (value << 8) | p[i];
  return value;
}

}  // namespace

std::optional<std::size_t> count_msgpack_objects(std::string_view bytes) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const auto* const end = p + bytes.size();
  std::uint64_t pending = 1;  // values still to read
  std::size_t objects = 0;
  // Reads an n-byte length at p, then skips `length` payload bytes after it.
  const auto skip_sized = [&](int n, std::uint64_t extra) -> bool {
    if (end - p < n) return false;
    const std::uint64_t length = big_endian(p, n) + extra;
    p += n;
    if (static_cast<std::uint64_t>(end - p) < length) return false;
    p += length;
    return true;
  };
  const auto add_elements = [&](int n, std::uint64_t per_entry) -> bool {
    if (end - p < n) return false;
    const std::uint64_t count = big_endian(p, n) * per_entry;
    p += n;
    // Every element takes at least one byte: a count past the rest is a lie.
    if (count > static_cast<std::uint64_t>(end - p)) return false;
    pending += count;
    return true;
  };
  while (pending > 0) {
    if (p == end) return std::nullopt;
    const unsigned char head = *p++;
    --pending;
    ++objects;
    bool ok = true;
    if (head == 0xc1) {
      return std::nullopt;  // never used by msgpack
    } else if (head <= 0x7f || head >= 0xe0 || head == 0xc0 || head == 0xc2 || head == 0xc3) {
      // fixint, nil, false, true
    } else if (head <= 0x8f) {
      const std::uint64_t count = 2u * (head & 0x0f);
      ok = count <= static_cast<std::uint64_t>(end - p);
      pending += count;
    } else if (head <= 0x9f) {
      const std::uint64_t count = head & 0x0f;
      ok = count <= static_cast<std::uint64_t>(end - p);
      pending += count;
    } else if (head <= 0xbf) {
      const std::size_t length = head & 0x1f;
      ok = static_cast<std::size_t>(end - p) >= length;
      if (ok) p += length;
    } else {
      switch (head) {
        case 0xc4: case 0xd9: ok = skip_sized(1, 0); break;           // bin 8, str 8
        case 0xc5: case 0xda: ok = skip_sized(2, 0); break;           // bin 16, str 16
        case 0xc6: case 0xdb: ok = skip_sized(4, 0); break;           // bin 32, str 32
        case 0xc7: ok = skip_sized(1, 1); break;                      // ext 8 (+ type byte)
        case 0xc8: ok = skip_sized(2, 1); break;                      // ext 16
        case 0xc9: ok = skip_sized(4, 1); break;                      // ext 32
        case 0xca: case 0xce: case 0xd2: ok = skip_sized(0, 4); break;  // 32-bit numbers
        case 0xcb: case 0xcf: case 0xd3: ok = skip_sized(0, 8); break;  // 64-bit numbers
        case 0xcc: case 0xd0: ok = skip_sized(0, 1); break;
        case 0xcd: case 0xd1: ok = skip_sized(0, 2); break;
        case 0xd4: ok = skip_sized(0, 2); break;                      // fixext 1 (+ type)
        case 0xd5: ok = skip_sized(0, 3); break;
        case 0xd6: ok = skip_sized(0, 5); break;
        case 0xd7: ok = skip_sized(0, 9); break;
        case 0xd8: ok = skip_sized(0, 17); break;
        case 0xdc: ok = add_elements(2, 1); break;                    // array 16
        case 0xdd: ok = add_elements(4, 1); break;                    // array 32
        case 0xde: ok = add_elements(2, 2); break;                    // map 16
        case 0xdf: ok = add_elements(4, 2); break;                    // map 32
        default: ok = false;
      }
    }
    if (!ok) return std::nullopt;
  }
  return objects;
}

}  // namespace pseud::wire
