#include "cli/json.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <optional>
#include <set>
#include <utility>
#include <vector>

namespace pseud::cli {

namespace {

// Text that breaks the RFC 8259 grammar, as opposed to JSON that breaks a
// rule of this codec: parse_argument() falls back to a string only for these.
class SyntaxError : public JsonError {
 public:
  using JsonError::JsonError;
};

constexpr std::string_view tag_bytes = "$bytes";
constexpr std::string_view tag_map = "$map";
constexpr std::string_view tag_ext = "$ext";

bool is_tag(std::string_view key) noexcept { return key == tag_bytes || key == tag_map || key == tag_ext; }

// msgpack counts elements and bytes in 32 bits.
constexpr std::size_t max_msgpack_count = std::numeric_limits<std::uint32_t>::max();

// --- UTF-8 -------------------------------------------------------------------

/// Length of the well-formed UTF-8 sequence at text[pos] (1 to 4), or 0 when
/// there is none: no overlong forms, no surrogates, nothing above U+10FFFF.
std::size_t utf8_sequence(std::string_view text, std::size_t pos) noexcept {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[pos + i]); };
  const unsigned char lead = byte(0);
  if (lead < 0x80) return 1;
  std::size_t length = 0;
  unsigned char low = 0x80;  // range of the second byte
  unsigned char high = 0xbf;
  if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    if (lead == 0xe0) low = 0xa0;   // overlong below U+0800
    if (lead == 0xed) high = 0x9f;  // UTF-16 surrogates
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    if (lead == 0xf0) low = 0x90;   // overlong below U+10000
    if (lead == 0xf4) high = 0x8f;  // above U+10FFFF
  } else {
    return 0;
  }
  if (text.size() - pos < length) return 0;
  if (byte(1) < low || byte(1) > high) return 0;
  for (std::size_t i = 2; i < length; ++i) {
    if (byte(i) < 0x80 || byte(i) > 0xbf) return 0;
  }
  return length;
}

/// Offset of the first byte that is not part of valid UTF-8, or npos.
std::size_t invalid_utf8_at(std::string_view text) noexcept {
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t length = utf8_sequence(text, pos);
    if (length == 0) return pos;
    pos += length;
  }
  return std::string_view::npos;
}

void append_utf8(std::string& out, char32_t code_point) {
  if (code_point < 0x80) {
    out += static_cast<char>(code_point);
  } else if (code_point < 0x800) {
    out += static_cast<char>(0xc0 | (code_point >> 6));
    out += static_cast<char>(0x80 | (code_point & 0x3f));
  } else if (code_point < 0x10000) {
    out += static_cast<char>(0xe0 | (code_point >> 12));
    out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (code_point & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (code_point >> 18));
    out += static_cast<char>(0x80 | ((code_point >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (code_point & 0x3f));
  }
}

// --- hex ---------------------------------------------------------------------

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void append_hex(std::string& out, std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  for (const char c : bytes) {
    out += digits[static_cast<unsigned char>(c) >> 4];
    out += digits[static_cast<unsigned char>(c) & 0x0f];
  }
}

/// How an error message names the byte it stopped at.
std::string describe_byte(std::string_view text, std::size_t pos) {
  if (pos >= text.size()) return "the end of the text";
  const auto byte = static_cast<unsigned char>(text[pos]);
  if (byte >= 0x20 && byte < 0x7f) return std::string{'\'', text[pos], '\''};
  std::string out = "byte 0x";
  append_hex(out, text.substr(pos, 1));
  return out;
}

// --- the parsed value --------------------------------------------------------

/// One parsed value, already in msgpack's terms (tagged forms resolved).
struct Node {
  enum class Kind { nil, boolean, negative, positive, float64, str, bin, ext, array, map };
  Kind kind = Kind::nil;
  std::size_t offset = 0;      // where the value starts in the JSON text
  bool boolean = false;
  std::int64_t negative = 0;   // Kind::negative, always < 0
  std::uint64_t positive = 0;  // Kind::positive
  double float64 = 0;
  std::int8_t ext_type = 0;
  std::string bytes;           // str, bin and ext payloads
  std::vector<Node> items;     // array elements; map keys and values, alternating
};

bool is_container(const Node& node) noexcept {
  return node.kind == Node::Kind::array || node.kind == Node::Kind::map;
}

/// msgpack-c's pack_double() writes a double with an integral value as an
/// int (1.0 as 0x01, -0.0 as 0x00). A JSON float must stay a float64, so its
/// 9 bytes are appended as they are, through a raw body writer.
void pack_float64(msgpack::packer<msgpack::sbuffer>& out, double value) {
  const auto bits = std::bit_cast<std::uint64_t>(value);
  std::array<char, 9> bytes{};
  bytes[0] = static_cast<char>(0xcb);
  for (std::size_t i = 0; i < 8; ++i) bytes[1 + i] = static_cast<char>(bits >> (56 - 8 * i));
  out.pack_bin_body(bytes.data(), static_cast<std::uint32_t>(bytes.size()));
}

void pack(const Node& node, msgpack::packer<msgpack::sbuffer>& out) {
  // Recursion is bounded: the parser refuses more than max_json_depth levels.
  const auto size = static_cast<std::uint32_t>(node.kind == Node::Kind::map ? node.items.size() / 2
                                               : is_container(node)       ? node.items.size()
                                                                          : node.bytes.size());
  switch (node.kind) {
    case Node::Kind::nil: out.pack_nil(); break;
    case Node::Kind::boolean: node.boolean ? out.pack_true() : out.pack_false(); break;
    case Node::Kind::negative: out.pack_int64(node.negative); break;
    case Node::Kind::positive: out.pack_uint64(node.positive); break;
    case Node::Kind::float64: pack_float64(out, node.float64); break;
    case Node::Kind::str:
      out.pack_str(size);
      out.pack_str_body(node.bytes.data(), size);
      break;
    case Node::Kind::bin:
      out.pack_bin(size);
      out.pack_bin_body(node.bytes.data(), size);
      break;
    case Node::Kind::ext:
      out.pack_ext(size, node.ext_type);
      out.pack_ext_body(node.bytes.data(), size);
      break;
    case Node::Kind::array:
    case Node::Kind::map:
      node.kind == Node::Kind::map ? out.pack_map(size) : out.pack_array(size);
      for (const Node& item : node.items) pack(item, out);
      break;
  }
}

// --- the parser --------------------------------------------------------------

/// Parses a JSON text without recursion: open arrays and objects are frames
/// on an explicit stack, and a completed value climbs into its parent.
class Parser {
 public:
  explicit Parser(std::string_view text) noexcept : text_(text) {}

  Node document() {
    while (true) {
      skip_whitespace();
      std::optional<Node> done = start_value();
      while (done) {
        if (stack_.empty()) {
          skip_whitespace();
          if (pos_ != text_.size()) expected("the end of the text");
          return std::move(*done);
        }
        done = attach(std::move(*done));
      }
    }
  }

 private:
  // Arrays inside {"$map": [[k, v], ...]} are the tagged form's wrappers:
  // they take the depth of the map they spell instead of adding a level.
  enum class Role { plain, map_entries, map_entry };

  struct Frame {
    Node node;                   // the array or the object (a map) being filled
    Role role = Role::plain;
    std::size_t depth = 0;       // msgpack nesting level of the value, 1 at the top
    std::set<std::string> keys;  // an object's keys so far
  };

  std::string_view text_;
  std::size_t pos_ = 0;
  std::vector<Frame> stack_;

  [[noreturn]] void expected(std::string_view what) const {
    throw SyntaxError(pos_, "expected " + std::string(what) + ", found " + describe_byte(text_, pos_));
  }

  [[noreturn]] static void refuse(std::size_t at, const std::string& problem) { throw JsonError(at, problem); }

  [[nodiscard]] bool at(char c) const noexcept { return pos_ < text_.size() && text_[pos_] == c; }

  [[nodiscard]] bool at_digit() const noexcept {
    return pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9';
  }

  void skip_whitespace() noexcept {
    while (at(' ') || at('\t') || at('\n') || at('\r')) ++pos_;
  }

  /// Reads a scalar, or opens a container. Returns the completed value, or
  /// nothing when a container was opened and its first element follows.
  std::optional<Node> start_value() {
    if (at('[')) {
      open(Node::Kind::array);
      skip_whitespace();
      if (!at(']')) return std::nullopt;
      ++pos_;
      return close();
    }
    if (at('{')) {
      open(Node::Kind::map);
      skip_whitespace();
      if (!at('}')) {
        key();
        return std::nullopt;
      }
      ++pos_;
      return close();
    }
    Node node;
    node.offset = pos_;
    if (at('"')) {
      node.kind = Node::Kind::str;
      node.bytes = string();
    } else if (at('-') || at_digit()) {
      number(node);
    } else if (literal("true")) {
      node.kind = Node::Kind::boolean;
      node.boolean = true;
    } else if (literal("false")) {
      node.kind = Node::Kind::boolean;
    } else if (!literal("null")) {
      expected("a value");
    }
    return node;
  }

  /// Adds a completed value to the innermost container, then reads what
  /// follows it there. Returns the container when that closed it.
  std::optional<Node> attach(Node value) {
    Frame& frame = stack_.back();
    const bool is_array = frame.node.kind == Node::Kind::array;
    const std::size_t count = is_array ? frame.node.items.size() : frame.node.items.size() / 2;
    if (count >= max_msgpack_count) refuse(value.offset, "more elements than msgpack can count");
    frame.node.items.push_back(std::move(value));
    skip_whitespace();
    if (at(',')) {
      ++pos_;
      if (!is_array) {
        skip_whitespace();
        key();
      }
      return std::nullopt;
    }
    if (at(is_array ? ']' : '}')) {
      ++pos_;
      return close();
    }
    expected(is_array ? "',' or ']'" : "',' or '}'");
  }

  void open(Node::Kind kind) {
    Frame frame;
    frame.node.kind = kind;
    frame.node.offset = pos_;
    frame.depth = 1;
    if (!stack_.empty()) {
      const Frame& parent = stack_.back();
      const bool tag_value = parent.node.kind == Node::Kind::map && parent.node.items.size() == 1 &&
                             parent.node.items[0].bytes == tag_map;
      if (kind == Node::Kind::array && tag_value) {
        frame.role = Role::map_entries;
      } else if (kind == Node::Kind::array && parent.role == Role::map_entries) {
        frame.role = Role::map_entry;
      }
      frame.depth = parent.depth + (frame.role == Role::plain ? 1 : 0);
    }
    // An object one level too deep may still be a "$bytes" or "$ext" leaf,
    // and the wrappers of a "$map" are checked with their map: close()
    // decides once the object is read.
    const bool decided_at_close = kind == Node::Kind::map || frame.role != Role::plain;
    const std::size_t limit = decided_at_close ? max_json_depth + 1 : max_json_depth;
    if (frame.depth > limit) too_deep(pos_);
    ++pos_;
    stack_.push_back(std::move(frame));
  }

  [[noreturn]] static void too_deep(std::size_t at) {
    refuse(at, "arrays and maps nested deeper than " + std::to_string(max_json_depth) + " levels");
  }

  /// Closes the innermost container (its bracket is consumed) and returns it.
  Node close() {
    Frame frame = std::move(stack_.back());
    stack_.pop_back();
    Node node = std::move(frame.node);
    if (node.kind == Node::Kind::map && !node.items.empty() && is_tag(node.items[0].bytes)) {
      node = tagged(std::move(node));
    }
    if (frame.role == Role::plain && is_container(node) && frame.depth > max_json_depth) too_deep(node.offset);
    return node;
  }

  /// Reads an object key and its ':'; the value follows.
  void key() {
    if (!at('"')) expected("a string key");
    Node key;
    key.kind = Node::Kind::str;
    key.offset = pos_;
    key.bytes = string();
    Frame& frame = stack_.back();
    if (!frame.keys.insert(key.bytes).second) {
      refuse(key.offset, "duplicate key " + quoted(key.bytes) + " (a map with repeated keys is written as \"$map\")");
    }
    frame.node.items.push_back(std::move(key));
    skip_whitespace();
    if (!at(':')) expected("':'");
    ++pos_;
  }

  bool literal(std::string_view word) noexcept {
    if (text_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  /// Reads a string from its opening quote; returns its UTF-8 bytes.
  std::string string() {
    const std::size_t start = pos_;
    ++pos_;
    std::string out;
    while (true) {
      if (pos_ == text_.size()) expected("'\"' to end the string");
      const char c = text_[pos_];
      const auto byte = static_cast<unsigned char>(c);
      if (c == '"') break;
      if (c == '\\') {
        escape(out);
      } else if (byte < 0x20) {
        throw SyntaxError(pos_, "control character in a string (write it as an escape such as \\n or \\u001f)");
      } else {
        const std::size_t length = utf8_sequence(text_, pos_);
        if (length == 0) throw SyntaxError(pos_, "invalid UTF-8 in a string");
        out.append(text_.substr(pos_, length));
        pos_ += length;
      }
    }
    ++pos_;
    if (out.size() > max_msgpack_count) refuse(start, "string longer than msgpack can hold");
    return out;
  }

  /// Reads one escape sequence from its backslash.
  void escape(std::string& out) {
    const std::size_t start = pos_;
    ++pos_;
    if (pos_ == text_.size()) expected("an escape after '\\'");
    const char c = text_[pos_++];
    switch (c) {
      case '"': out += '"'; return;
      case '\\': out += '\\'; return;
      case '/': out += '/'; return;
      case 'b': out += '\b'; return;
      case 'f': out += '\f'; return;
      case 'n': out += '\n'; return;
      case 'r': out += '\r'; return;
      case 't': out += '\t'; return;
      case 'u': break;
      default:
        --pos_;
        expected("an escape: one of \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX");
    }
    static constexpr std::string_view lone_high =
        "lone UTF-16 high surrogate (a \\uD800-\\uDBFF escape must be followed by a \\uDC00-\\uDFFF one)";
    char32_t unit = hex4();
    if (unit >= 0xdc00 && unit <= 0xdfff) {
      refuse(start, "lone UTF-16 low surrogate (a \\uDC00-\\uDFFF escape must follow a \\uD800-\\uDBFF one)");
    }
    if (unit >= 0xd800 && unit <= 0xdbff) {
      if (!literal("\\u")) refuse(start, std::string(lone_high));
      const char32_t low = hex4();
      if (low < 0xdc00 || low > 0xdfff) refuse(start, std::string(lone_high));
      unit = 0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00);
    }
    append_utf8(out, unit);
  }

  /// Reads the four hex digits of a \u escape.
  char32_t hex4() {
    char32_t unit = 0;
    for (int i = 0; i < 4; ++i) {
      const int digit = pos_ < text_.size() ? hex_value(text_[pos_]) : -1;
      if (digit < 0) expected("four hex digits after \\u");
      unit = unit * 16 + static_cast<char32_t>(digit);
      ++pos_;
    }
    return unit;
  }

  void digits() noexcept {
    while (at_digit()) ++pos_;
  }

  /// Reads a number: an integer when it has neither fraction nor exponent
  /// and fits 64 bits, float64 otherwise.
  void number(Node& node) {
    const std::size_t start = pos_;
    if (at('-')) ++pos_;
    if (!at_digit()) expected("a digit");
    if (at('0')) {
      ++pos_;
      if (at_digit()) throw SyntaxError(pos_ - 1, "leading zeros are not allowed in a number");
    } else {
      digits();
    }
    const std::size_t integer_end = pos_;
    if (at('.')) {
      ++pos_;
      if (!at_digit()) expected("a digit after '.'");
      digits();
    }
    const std::size_t exponent_at = pos_;
    if (at('e') || at('E')) {
      ++pos_;
      if (at('+') || at('-')) ++pos_;
      if (!at_digit()) expected("a digit in the exponent");
      digits();
    }
    const char* first = text_.data() + start;
    const char* last = text_.data() + pos_;
    if (pos_ == integer_end) {
      if (text_[start] == '-') {
        std::int64_t value = 0;
        if (std::from_chars(first, last, value).ec == std::errc{}) {
          node.kind = value < 0 ? Node::Kind::negative : Node::Kind::positive;  // "-0" is 0
          node.negative = value;
          return;
        }
      } else {
        std::uint64_t value = 0;
        if (std::from_chars(first, last, value).ec == std::errc{}) {
          node.kind = Node::Kind::positive;
          node.positive = value;
          return;
        }
      }
    }
    node.kind = Node::Kind::float64;
    if (std::from_chars(first, last, node.float64).ec == std::errc::result_out_of_range) {
      if (!underflows(start, integer_end, exponent_at)) refuse(start, "number beyond the range of float64");
      node.float64 = text_[start] == '-' ? -0.0 : 0.0;
    }
  }

  /// Whether a number out of float64's range is tiny rather than huge: the
  /// decimal exponent of its leading significant digit is negative.
  /// `exponent_at` is where its exponent starts ('e'), or its end.
  [[nodiscard]] bool underflows(std::size_t start, std::size_t integer_end, std::size_t exponent_at) const {
    std::int64_t exponent = 0;
    if (exponent_at < pos_) {
      std::size_t i = exponent_at + 1;
      const bool negative_exponent = text_[i] == '-';
      if (text_[i] == '+' || text_[i] == '-') ++i;
      // Saturated: only the sign of the sum below matters.
      for (; i < pos_; ++i) exponent = std::min<std::int64_t>(exponent * 10 + (text_[i] - '0'), 1'000'000'000);
      if (negative_exponent) exponent = -exponent;
    }
    const std::size_t digits_start = text_[start] == '-' ? start + 1 : start;
    std::int64_t lead = 0;
    if (text_[digits_start] != '0') {
      lead = static_cast<std::int64_t>(integer_end - digits_start) - 1;
    } else {  // 0.000ddd: count the zeros after the point
      lead = -1;
      for (std::size_t j = integer_end + 1; j < exponent_at && text_[j] == '0'; ++j) --lead;
    }
    return lead + exponent < 0;
  }

  // --- tagged forms, checked when their object closes ---

  static std::string quoted(std::string_view text);

  /// Checks that `object` has exactly `keys` in this order.
  static void require_keys(const Node& object, std::initializer_list<std::string_view> keys, std::string_view form) {
    const auto refuse_form = [&](std::size_t at) {
      refuse(at, "an object whose first key is " + quoted(object.items[0].bytes) + " must be exactly " +
                     std::string(form));
    };
    std::size_t i = 0;
    for (const std::string_view key : keys) {
      if (object.items.size() <= 2 * i) refuse_form(object.offset);
      if (object.items[2 * i].bytes != key) refuse_form(object.items[2 * i].offset);
      ++i;
    }
    if (object.items.size() > 2 * i) refuse_form(object.items[2 * i].offset);
  }

  /// The bytes spelled by a hex string value.
  static std::string hex_bytes(const Node& value, std::string_view key) {
    if (value.kind != Node::Kind::str) refuse(value.offset, quoted(key) + " takes a string of hex digits");
    const std::string& hex = value.bytes;
    if (hex.size() % 2 != 0) refuse(value.offset, quoted(key) + " takes an even number of hex digits");
    std::string bytes;
    for (std::size_t i = 0; i < hex.size(); i += 2) {
      const int high = hex_value(hex[i]);
      const int low = hex_value(hex[i + 1]);
      if (high < 0 || low < 0) refuse(value.offset, quoted(key) + " takes hex digits only (0-9, a-f, A-F)");
      bytes += static_cast<char>(high * 16 + low);
    }
    return bytes;
  }

  /// Resolves an object whose first key is a tag into the value it spells.
  static Node tagged(Node object) {
    const std::string& tag = object.items[0].bytes;
    Node node;
    node.offset = object.offset;
    if (tag == tag_bytes) {
      require_keys(object, {tag_bytes}, "{\"$bytes\": \"HEX\"}");
      node.kind = Node::Kind::bin;
      node.bytes = hex_bytes(object.items[1], tag_bytes);
    } else if (tag == tag_ext) {
      require_keys(object, {tag_ext, "hex"}, "{\"$ext\": TYPE, \"hex\": \"HEX\"}");
      const Node& type = object.items[1];
      const bool fits = (type.kind == Node::Kind::negative && type.negative >= -128) ||
                        (type.kind == Node::Kind::positive && type.positive <= 127);
      if (!fits) refuse(type.offset, "\"$ext\" takes an integer type from -128 to 127");
      node.kind = Node::Kind::ext;
      const std::int64_t code = type.kind == Node::Kind::negative ? type.negative
                                                                  : static_cast<std::int64_t>(type.positive);
      node.ext_type = static_cast<std::int8_t>(code);
      node.bytes = hex_bytes(object.items[3], "hex");
    } else {
      require_keys(object, {tag_map}, "{\"$map\": [[KEY, VALUE], ...]}");
      Node& entries = object.items[1];
      if (entries.kind != Node::Kind::array) refuse(entries.offset, "\"$map\" takes an array of [key, value] pairs");
      node.kind = Node::Kind::map;
      for (Node& entry : entries.items) {
        if (entry.kind != Node::Kind::array || entry.items.size() != 2) {
          refuse(entry.offset, "a \"$map\" entry must be a [key, value] array");
        }
        node.items.push_back(std::move(entry.items[0]));
        node.items.push_back(std::move(entry.items[1]));
      }
    }
    return node;
  }
};

// --- output ------------------------------------------------------------------

void render_string(std::string& out, std::string_view text) {
  out += '"';
  for (const char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += "\\u00";
          append_hex(out, std::string_view{&c, 1});
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

std::string Parser::quoted(std::string_view text) {
  std::string out;
  render_string(out, text);
  return out;
}

void render_bytes(std::string& out, std::string_view bytes) {
  out += "{\"$bytes\":\"";
  append_hex(out, bytes);
  out += "\"}";
}

/// A str when it is UTF-8, its bytes otherwise.
void render_text(std::string& out, std::string_view text) {
  if (invalid_utf8_at(text) == std::string_view::npos) {
    render_string(out, text);
  } else {
    render_bytes(out, text);
  }
}

template <class Number>
void render_integer(std::string& out, Number value) {
  std::array<char, 24> buffer{};
  const auto result = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
  out.append(buffer.data(), result.ptr);
}

template <class Float>
void render_float(std::string& out, Float value) {
  if (!std::isfinite(value)) {
    out += "null";
    return;
  }
  std::array<char, 64> buffer{};
  const auto result = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
  const std::string_view text(buffer.data(), static_cast<std::size_t>(result.ptr - buffer.data()));
  out += text;
  if (text.find_first_of(".e") == std::string_view::npos) out += ".0";  // keep it a float
}

std::string_view text_of(const msgpack::object& o) noexcept { return {o.via.str.ptr, o.via.str.size}; }

/// Whether a map can be written as a JSON object and read back the same.
bool is_plain_object(const msgpack::object_map& map) {
  std::set<std::string_view> keys;
  for (std::uint32_t i = 0; i < map.size; ++i) {
    const msgpack::object& key = map.ptr[i].key;
    if (key.type != msgpack::type::STR) return false;
    const std::string_view text = text_of(key);
    if (invalid_utf8_at(text) != std::string_view::npos) return false;
    if (i == 0 && is_tag(text)) return false;
    if (!keys.insert(text).second) return false;
  }
  return true;
}

/// `depth` counts the arrays and maps around `o`.
void render(std::string& out, const msgpack::object& o, std::size_t depth) {
  const bool container = o.type == msgpack::type::ARRAY || o.type == msgpack::type::MAP;
  if (container && depth >= max_json_depth) {
    throw ConversionError("cannot render as JSON: arrays and maps nested deeper than " +
                          std::to_string(max_json_depth) + " levels");
  }
  switch (o.type) {
    case msgpack::type::NIL: out += "null"; return;
    case msgpack::type::BOOLEAN: out += o.via.boolean ? "true" : "false"; return;
    case msgpack::type::POSITIVE_INTEGER: render_integer(out, o.via.u64); return;
    case msgpack::type::NEGATIVE_INTEGER: render_integer(out, o.via.i64); return;
    case msgpack::type::FLOAT32: render_float(out, static_cast<float>(o.via.f64)); return;
    case msgpack::type::FLOAT64: render_float(out, o.via.f64); return;
    case msgpack::type::STR: render_text(out, text_of(o)); return;
    case msgpack::type::BIN: render_bytes(out, {o.via.bin.ptr, o.via.bin.size}); return;
    case msgpack::type::EXT:
      out += "{\"$ext\":";
      render_integer(out, static_cast<int>(o.via.ext.type()));
      out += ",\"hex\":\"";
      append_hex(out, {o.via.ext.data(), o.via.ext.size});
      out += "\"}";
      return;
    case msgpack::type::ARRAY:
      out += '[';
      for (std::uint32_t i = 0; i < o.via.array.size; ++i) {
        if (i > 0) out += ',';
        render(out, o.via.array.ptr[i], depth + 1);
      }
      out += ']';
      return;
    case msgpack::type::MAP: {
      const msgpack::object_map& map = o.via.map;
      if (is_plain_object(map)) {
        out += '{';
        for (std::uint32_t i = 0; i < map.size; ++i) {
          if (i > 0) out += ',';
          render_string(out, text_of(map.ptr[i].key));
          out += ':';
          render(out, map.ptr[i].val, depth + 1);
        }
        out += '}';
      } else {
        out += "{\"$map\":[";
        for (std::uint32_t i = 0; i < map.size; ++i) {
          if (i > 0) out += ',';
          out += '[';
          render(out, map.ptr[i].key, depth + 1);
          out += ',';
          render(out, map.ptr[i].val, depth + 1);
          out += ']';
        }
        out += "]}";
      }
      return;
    }
  }
  throw ConversionError("cannot render as JSON: unknown msgpack type " + std::to_string(static_cast<int>(o.type)));
}

msgpack::object_handle unpacked(const msgpack::sbuffer& buffer) {
  return msgpack::unpack(buffer.data(), buffer.size());
}

}  // namespace

JsonError::JsonError(std::size_t offset, const std::string& problem)
    : UsageError("invalid JSON at byte " + std::to_string(offset) + ": " + problem), offset_(offset) {}

void json_to_msgpack(std::string_view json, msgpack::packer<msgpack::sbuffer>& out) {
  const Node document = Parser(json).document();
  pack(document, out);
}

msgpack::object_handle parse_json(std::string_view json) {
  msgpack::sbuffer buffer;
  msgpack::packer<msgpack::sbuffer> packer(buffer);
  json_to_msgpack(json, packer);
  return unpacked(buffer);
}

msgpack::object_handle parse_argument(std::string_view text) {
  if (const std::size_t bad = invalid_utf8_at(text); bad != std::string_view::npos) {
    throw JsonError(bad, "the argument is not UTF-8 text (pass bytes as {\"$bytes\": \"HEX\"})");
  }
  try {
    return parse_json(text);
  } catch (const SyntaxError&) {
    // Not JSON: the text is the argument.
  }
  if (text.size() > max_msgpack_count) throw JsonError(0, "the argument is longer than msgpack can hold");
  msgpack::sbuffer buffer;
  msgpack::packer<msgpack::sbuffer> packer(buffer);
  const auto size = static_cast<std::uint32_t>(text.size());
  packer.pack_str(size);
  packer.pack_str_body(text.data(), size);
  return unpacked(buffer);
}

std::string to_json(const msgpack::object& value) {
  std::string out;
  render(out, value, 0);
  return out;
}

bool is_utf8(std::string_view text) noexcept { return invalid_utf8_at(text) == std::string_view::npos; }

}  // namespace pseud::cli
