#include "wire/msgpack_scan.hpp"

#include <array>
#include <cstdint>

namespace pseud::wire {

namespace {

class Reader {
 public:
  explicit Reader(std::string_view bytes) noexcept : bytes_(bytes) {}

  [[nodiscard]] std::size_t remaining() const noexcept { return bytes_.size() - pos_; }
  [[nodiscard]] bool at_end() const noexcept { return pos_ == bytes_.size(); }

  bool byte(std::uint8_t& out) noexcept {
    if (remaining() < 1) return false;
    out = static_cast<std::uint8_t>(bytes_[pos_++]);
    return true;
  }

  /// Reads a big-endian unsigned integer of `width` bytes.
  bool uint(std::size_t width, std::uint64_t& out) noexcept {
    if (remaining() < width) return false;
    out = 0;
    for (std::size_t i = 0; i < width; ++i) out = (out << 8) | static_cast<std::uint8_t>(bytes_[pos_++]);
    return true;
  }

  bool skip(std::uint64_t count) noexcept {
    if (remaining() < count) return false;
    pos_ += static_cast<std::size_t>(count);
    return true;
  }

 private:
  std::string_view bytes_;
  std::size_t pos_ = 0;
};

// What one header byte announces: a payload to skip, or child values.
struct Header {
  std::uint64_t payload = 0;   // bytes of scalar payload that follow
  std::uint64_t children = 0;  // values contained (maps count keys and values)
  bool container = false;
  bool is_map = false;
};

// Reads a header and its length field. Returns false when truncated or invalid.
bool read_header(Reader& in, Header& header, bool& invalid) noexcept {
  std::uint8_t tag = 0;
  if (!in.byte(tag)) return false;
  std::uint64_t n = 0;
  header = {};
  if (tag <= 0x7f || tag >= 0xe0) return true;                      // fixint
  if (tag <= 0x8f) {  // fixmap
    header = {0, 2ull * (tag & 0x0f), true, true};
    return true;
  }
  if (tag <= 0x9f) {  // fixarray
    header = {0, tag & 0x0full, true};
    return true;
  }
  if (tag <= 0xbf) {  // fixstr
    header.payload = tag & 0x1f;
    return true;
  }
  switch (tag) {
    case 0xc0: case 0xc2: case 0xc3: return true;                          // nil, bool
    case 0xc1: invalid = true; return false;
    case 0xc4: case 0xd9: if (!in.uint(1, n)) return false; header.payload = n; return true;
    case 0xc5: case 0xda: if (!in.uint(2, n)) return false; header.payload = n; return true;
    case 0xc6: case 0xdb: if (!in.uint(4, n)) return false; header.payload = n; return true;
    case 0xc7: if (!in.uint(1, n)) return false; header.payload = n + 1; return true;  // ext + type
    case 0xc8: if (!in.uint(2, n)) return false; header.payload = n + 1; return true;
    case 0xc9: if (!in.uint(4, n)) return false; header.payload = n + 1; return true;
    case 0xca: header.payload = 4; return true;
    case 0xcb: header.payload = 8; return true;
    case 0xcc: case 0xd0: header.payload = 1; return true;
    case 0xcd: case 0xd1: header.payload = 2; return true;
    case 0xce: case 0xd2: header.payload = 4; return true;
    case 0xcf: case 0xd3: header.payload = 8; return true;
    case 0xd4: header.payload = 2; return true;   // fixext 1 (+ type byte)
    case 0xd5: header.payload = 3; return true;
    case 0xd6: header.payload = 5; return true;
    case 0xd7: header.payload = 9; return true;
    case 0xd8: header.payload = 17; return true;
    case 0xdc: if (!in.uint(2, n)) return false; header = {0, n, true}; return true;
    case 0xdd: if (!in.uint(4, n)) return false; header = {0, n, true}; return true;
    case 0xde: if (!in.uint(2, n)) return false; header = {0, 2 * n, true, true}; return true;
    case 0xdf: if (!in.uint(4, n)) return false; header = {0, 2 * n, true, true}; return true;
    default: invalid = true; return false;  // unreachable: every byte is covered above
  }
}

// Walks the value; with `other_key`, also reports a map key that is not str or bin.
std::optional<BodyError> scan(std::string_view bytes, std::size_t max_depth, bool* other_key) noexcept;

}  // namespace

std::string_view body_error_text(BodyError error) noexcept {
  switch (error) {
    case BodyError::empty: return "empty msgpack body";
    case BodyError::truncated: return "truncated msgpack body";
    case BodyError::invalid_byte: return "invalid msgpack byte 0xc1";
    case BodyError::too_deep: return "msgpack body nested deeper than 64 levels";
    case BodyError::trailing_bytes: return "trailing bytes after the msgpack value";
  }
  return "?";
}

std::optional<BodyError> scan_msgpack(std::string_view bytes, std::size_t max_depth) noexcept {
  return scan(bytes, max_depth, nullptr);
}

bool map_keys_are_strings(std::string_view bytes) noexcept {
  bool other_key = false;
  return !scan(bytes, max_body_depth, &other_key) && !other_key;
}

namespace {

std::optional<BodyError> scan(std::string_view bytes, std::size_t max_depth, bool* other_key) noexcept {
  if (bytes.empty()) return BodyError::empty;
  constexpr std::size_t stack_capacity = 256;
  if (max_depth > stack_capacity) max_depth = stack_capacity;
  // Values still to read at each open level; level 0 is the single top value.
  std::array<std::uint64_t, stack_capacity + 1> pending{};
  std::array<bool, stack_capacity + 1> is_map{};
  std::size_t depth = 0;
  pending[0] = 1;
  Reader in(bytes);
  while (true) {
    while (pending[depth] == 0) {
      if (depth == 0) return in.at_end() ? std::nullopt : std::optional{BodyError::trailing_bytes};
      --depth;
    }
    // In a map, children alternate key, value, starting with a key: keys are read when an even count remains.
    const bool is_key = is_map[depth] && pending[depth] % 2 == 0;
    --pending[depth];
    if (is_key && other_key && !in.at_end()) {
      const auto tag = static_cast<std::uint8_t>(bytes[bytes.size() - in.remaining()]);
      const bool text = (tag >= 0xa0 && tag <= 0xbf) || tag == 0xd9 || tag == 0xda || tag == 0xdb ||
                        tag == 0xc4 || tag == 0xc5 || tag == 0xc6;
      if (!text) *other_key = true;
    }
    Header header;
    bool invalid = false;
    if (!read_header(in, header, invalid)) return invalid ? BodyError::invalid_byte : BodyError::truncated;
    if (!in.skip(header.payload)) return BodyError::truncated;
    if (!header.container) continue;
    // Every child takes at least one byte: a larger count cannot be honest.
    if (header.children > in.remaining()) return BodyError::truncated;
    if (depth + 1 > max_depth) return BodyError::too_deep;  // an empty container is a level too
    if (header.children == 0) continue;
    pending[++depth] = header.children;
    is_map[depth] = header.is_map;
  }
}

}  // namespace

}  // namespace pseud::wire
