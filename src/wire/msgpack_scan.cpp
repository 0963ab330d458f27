#include "wire/msgpack_scan.hpp"

#include <array>
#include <cstdint>
#include <cstring>

namespace pseud::wire {

namespace {

class Reader {
 public:
  explicit Reader(std::string_view bytes) noexcept : bytes_(bytes) {}

  [[nodiscard]] std::size_t remaining() const noexcept { return bytes_.size() - pos_; }
  [[nodiscard]] bool at_end() const noexcept { return pos_ == bytes_.size(); }
  [[nodiscard]] std::size_t position() const noexcept { return pos_; }

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
  std::uint8_t tag = 0;        // the first byte
};

constexpr bool is_str_tag(std::uint8_t tag) noexcept {
  return (tag >= 0xa0 && tag <= 0xbf) || tag == 0xd9 || tag == 0xda || tag == 0xdb;
}
constexpr bool is_bin_tag(std::uint8_t tag) noexcept { return tag == 0xc4 || tag == 0xc5 || tag == 0xc6; }
constexpr bool is_ext_tag(std::uint8_t tag) noexcept {
  return tag == 0xc7 || tag == 0xc8 || tag == 0xc9 || (tag >= 0xd4 && tag <= 0xd8);
}

// Reads a header and its length field. Returns false when truncated or invalid.
bool read_header(Reader& in, Header& header, bool& invalid) noexcept {
  std::uint8_t tag = 0;
  if (!in.byte(tag)) return false;
  std::uint64_t n = 0;
  header = {};
  header.tag = tag;
  if (tag <= 0x7f || tag >= 0xe0) return true;                      // fixint
  if (tag <= 0x8f) {  // fixmap
    header = {0, 2ull * (tag & 0x0f), true, true, tag};
    return true;
  }
  if (tag <= 0x9f) {  // fixarray
    header = {0, tag & 0x0full, true, false, tag};
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
    case 0xdc: if (!in.uint(2, n)) return false; header = {0, n, true, false, tag}; return true;
    case 0xdd: if (!in.uint(4, n)) return false; header = {0, n, true, false, tag}; return true;
    case 0xde: if (!in.uint(2, n)) return false; header = {0, 2 * n, true, true, tag}; return true;
    case 0xdf: if (!in.uint(4, n)) return false; header = {0, 2 * n, true, true, tag}; return true;
    default: invalid = true; return false;  // unreachable: every byte is covered above
  }
}

// Walks the value. With `Checking`, also stops at the first value a Python
// pseud peer cannot decode under `checks` and describes it in `*finding`.
template <bool Checking>
std::optional<BodyError> scan(std::string_view bytes, std::size_t max_depth, PythonChecks checks,
                              PythonFinding* finding) noexcept;

// Skips one complete value; false when it is truncated or invalid.
bool skip_value(Reader& in) noexcept {
  std::uint64_t pending = 1;
  while (pending > 0) {
    --pending;
    Header header;
    bool invalid = false;
    if (!read_header(in, header, invalid) || !in.skip(header.payload)) return false;
    if (header.children > in.remaining()) return false;
    pending += header.children;
  }
  return true;
}

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
  return scan<false>(bytes, max_depth, {}, nullptr);
}

bool map_keys_are_strings(std::string_view bytes) noexcept {
  return !find_python_hazard(bytes, {.map_keys = true, .utf8 = false, .pickled_ext = false});
}

PythonFinding find_python_hazard(std::string_view bytes, PythonChecks checks) noexcept {
  PythonFinding finding;
  if (scan<true>(bytes, max_body_depth, checks, &finding)) return {PythonHazard::malformed, 0, 0};
  return finding;
}

// ---- UTF-8 as Python's strict decoder judges it ----

namespace {

// Length of the well-formed sequence that `lead` starts (Unicode table 3-7),
// and the range its second byte must fall in; 0 for a byte that starts none.
struct Lead {
  std::size_t length = 0;
  unsigned char low = 0x80;
  unsigned char high = 0xbf;
};

constexpr Lead lead_of(unsigned char byte) noexcept {
  if (byte >= 0xc2 && byte <= 0xdf) return {2};
  if (byte == 0xe0) return {3, 0xa0, 0xbf};   // no overlong 3-byte forms
  if (byte == 0xed) return {3, 0x80, 0x9f};   // no surrogates
  if (byte >= 0xe1 && byte <= 0xef) return {3};
  if (byte == 0xf0) return {4, 0x90, 0xbf};   // no overlong 4-byte forms
  if (byte == 0xf4) return {4, 0x80, 0x8f};   // nothing above U+10FFFF
  if (byte >= 0xf1 && byte <= 0xf3) return {4};
  return {};
}

// How many bytes at `p` (at most `left`) form the longest prefix of a valid
// sequence: the whole sequence when it is complete, else its maximal subpart
// (at least 1). `complete` tells which.
std::size_t sequence_at(const unsigned char* p, std::size_t left, bool& complete) noexcept {
  const Lead lead = lead_of(p[0]);
  complete = false;
  if (lead.length == 0) return 1;
  std::size_t k = 1;
  if (k < left && p[1] >= lead.low && p[1] <= lead.high) {
    for (++k; k < lead.length && k < left && (p[k] & 0xc0) == 0x80; ++k) {
    }
  }
  complete = k == lead.length;
  return k;
}

}  // namespace

std::size_t invalid_utf8_at(std::string_view text) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  std::size_t i = 0;
  while (i < n) {
    if (p[i] < 0x80) {
      // ASCII runs, eight bytes at a time.
      while (n - i >= 8) {
        std::uint64_t word;
        std::memcpy(&word, p + i, sizeof word);
        if (word & 0x8080808080808080ull) break;
        i += 8;
      }
      while (i < n && p[i] < 0x80) ++i;
      continue;
    }
    bool complete = false;
    const std::size_t length = sequence_at(p + i, n - i, complete);
    if (!complete) return i;
    i += length;
  }
  return std::string_view::npos;
}

bool valid_utf8(std::string_view text) noexcept { return invalid_utf8_at(text) == std::string_view::npos; }

std::string replace_invalid_utf8(std::string_view text) {
  std::size_t bad = invalid_utf8_at(text);
  if (bad == std::string_view::npos) return std::string(text);
  static constexpr std::string_view replacement = "\xef\xbf\xbd";  // U+FFFD
  std::string out(text.substr(0, bad));
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  std::size_t i = bad;
  while (i < text.size()) {
    bool complete = false;
    const std::size_t length = p[i] < 0x80 ? (complete = true, 1) : sequence_at(p + i, text.size() - i, complete);
    if (complete) {
      out.append(text.substr(i, length));
    } else {
      out.append(replacement);
    }
    i += length;
  }
  return out;
}

// ---- describing a finding ----

namespace {

// Where `offset` lies in a WORK body [name, args, kwargs].
std::string work_location(std::string_view body, std::size_t offset) {
  Reader in(body);
  Header header;
  bool invalid = false;
  if (!read_header(in, header, invalid) || !header.container || header.is_map || header.children != 3) {
    return "the call";
  }
  if (!skip_value(in)) return "the call";
  if (offset < in.position()) return "the function name";
  if (!read_header(in, header, invalid) || !header.container || header.is_map) return "the call";
  for (std::uint64_t i = 0; i < header.children; ++i) {
    if (!skip_value(in)) return "the call";
    if (offset < in.position()) return "positional argument " + std::to_string(i + 1);
  }
  if (!read_header(in, header, invalid) || !header.is_map) return "the call";
  for (std::uint64_t i = 0; i < header.children / 2; ++i) {
    const std::size_t key_at = in.position();
    Header key;
    if (!read_header(in, key, invalid) || !in.skip(key.payload)) return "the call";
    if (offset <= key_at || !is_str_tag(key.tag)) return "the name of keyword argument " + std::to_string(i + 1);
    const std::string_view name = body.substr(in.position() - key.payload, key.payload);
    if (!skip_value(in)) return "the call";
    if (offset < in.position()) {
      constexpr std::size_t longest = 64;
      return "keyword argument '" + std::string(name.substr(0, longest)) + (name.size() > longest ? "...'" : "'");
    }
  }
  return "the call";
}

std::string hex_byte(unsigned char byte) {
  static constexpr char digits[] = "0123456789abcdef";
  return std::string("0x") + digits[byte >> 4] + digits[byte & 0x0f];
}

std::string_view pickled_ext_name(std::size_t type) noexcept {
  switch (type) {
    case 123: return "tzinfo";
    case 124: return "timedelta";
    case 125: return "datetime";
    case 126: return "date";
  }
  return "?";
}

}  // namespace

std::string describe_python_hazard(std::string_view body, const PythonFinding& finding, bool work) {
  if (finding.hazard == PythonHazard::none) return {};
  if (finding.hazard == PythonHazard::malformed) {
    const auto error = scan_msgpack(body);
    return std::string(work ? "the call" : "the result") + " is not one well-formed msgpack value (" +
           std::string(error ? body_error_text(*error) : "?") + ")";
  }
  std::string where = work ? work_location(body, finding.offset) : "the result";
  switch (finding.hazard) {
    case PythonHazard::map_key:
      return where + " holds a map key that is neither str nor bytes: Python pseud 2.x's reader stops for good on it";
    case PythonHazard::invalid_utf8: {
      // The str's payload follows its header: find the bad byte from the header's size.
      Reader in(body.substr(finding.offset));
      Header header;
      bool invalid = false;
      std::string what = where + " holds a str that is not valid UTF-8";
      const std::string consequence = ": a Python pseud peer's reader stops for good on it";
      if (read_header(in, header, invalid)) {
        const std::size_t at = finding.offset + in.position() + finding.detail;
        if (at < body.size()) {
          what += " (byte " + hex_byte(static_cast<unsigned char>(body[at])) + " at index " +
                  std::to_string(finding.detail) + ")";
        }
      }
      return what + consequence;
    }
    case PythonHazard::pickled_ext:
      return where + " holds ext type " + std::to_string(finding.detail) +
             ", which a Python pseud peer unpickles as a " + std::string(pickled_ext_name(finding.detail)) +
             ": its reader stops for good on a payload that is not a pickle, and a pickle can run any code there";
    default: return where;
  }
}

std::string_view python_hazard_remedy(PythonHazard hazard) noexcept {
  switch (hazard) {
    case PythonHazard::none: return "";
    case PythonHazard::malformed: return "Check the msgpack adaptors of the types involved.";
    case PythonHazard::map_key:
      return "Use str or bytes keys, or set PeerOptions::strict_map_keys = false for a peer that is not Python.";
    case PythonHazard::invalid_utf8:
      return "Send binary data as bytes (pseud::Bytes or std::vector<char>, msgpack bin), or set "
             "PeerOptions::strict_utf8 = false for a peer that is not Python.";
    case PythonHazard::pickled_ext:
      return "Set PeerOptions::allow_python_ext = true to send such values: to pass on one received from a "
             "Python peer, or for a peer that is not Python.";
  }
  return "";
}

namespace {

// The hazard, if any, of the value whose header is `header`, which starts
// at `at` and ends where `upto` ends.
PythonFinding hazard_of(const Header& header, std::string_view upto, std::size_t at, bool is_key,
                        PythonChecks checks) noexcept {
  const std::uint8_t tag = header.tag;
  const bool str = is_str_tag(tag);
  if (is_key && checks.map_keys && !str && !is_bin_tag(tag)) return {PythonHazard::map_key, at, 0};
  if (str && checks.utf8 && header.payload > 0) {
    const auto size = static_cast<std::size_t>(header.payload);
    const char* text = upto.data() + (upto.size() - size);
    // Short ASCII strings (keys, names) are the common case: one OR over their bytes.
    unsigned char high = 0;
    if (size <= 16) {
      for (std::size_t i = 0; i < size; ++i) high |= static_cast<unsigned char>(text[i]);
    }
    if (size > 16 || (high & 0x80)) {
      const std::size_t bad = invalid_utf8_at({text, size});
      if (bad != std::string_view::npos) return {PythonHazard::invalid_utf8, at, bad};
    }
  }
  if (checks.pickled_ext && is_ext_tag(tag)) {
    // The ext type is the first payload byte (read_header counts it in the payload).
    const auto type = static_cast<std::int8_t>(upto[upto.size() - header.payload]);
    if (is_pickled_ext(type)) return {PythonHazard::pickled_ext, at, static_cast<std::size_t>(type)};
  }
  return {};
}

template <bool Checking>
std::optional<BodyError> scan(std::string_view bytes, std::size_t max_depth, [[maybe_unused]] PythonChecks checks,
                              [[maybe_unused]] PythonFinding* finding) noexcept {
  if (bytes.empty()) return BodyError::empty;
  constexpr std::size_t stack_capacity = 256;
  if (max_depth > stack_capacity) max_depth = stack_capacity;
  // Values still to read at each open level; level 0 is the single top value.
  // Left uninitialised (2 KiB of zeroes cost more than a small body's whole
  // scan): a level is written when it opens, before it is read.
  std::array<std::uint64_t, stack_capacity + 1> pending;
  std::array<bool, stack_capacity + 1> is_map;
  std::size_t depth = 0;
  pending[0] = 1;
  is_map[0] = false;
  Reader in(bytes);
  while (true) {
    while (pending[depth] == 0) {
      if (depth == 0) return in.at_end() ? std::nullopt : std::optional{BodyError::trailing_bytes};
      --depth;
    }
    // In a map, children alternate key, value, starting with a key: keys are read when an even count remains.
    [[maybe_unused]] const bool is_key = is_map[depth] && pending[depth] % 2 == 0;
    --pending[depth];
    [[maybe_unused]] const std::size_t at = in.position();
    Header header;
    bool invalid = false;
    if (!read_header(in, header, invalid)) return invalid ? BodyError::invalid_byte : BodyError::truncated;
    if (!in.skip(header.payload)) return BodyError::truncated;
    // After the first hazard the walk goes on unchecked: a body that is also
    // malformed further on must be reported as malformed.
    if constexpr (Checking) {
      if (finding->hazard == PythonHazard::none) {
        *finding = hazard_of(header, bytes.substr(0, in.position()), at, is_key, checks);
      }
    }
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
