// The pseud tool's JSON <-> msgpack codec (the contract is in json.hpp).
// nlohmann-json does the JSON: its SAX parser reads the text (grammar,
// escapes, UTF-8, numbers) and its serializer writes it. This file adds the
// codec's own rules: tagged forms, duplicate keys, the depth limit counted in
// msgpack, float64 kept float64, and where each error is: nlohmann's byte
// position for its syntax errors, a JSON path for the codec's own rules.

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

#include <nlohmann/json.hpp>

#include "wire/msgpack_scan.hpp"

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

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string hex_of(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * bytes.size());
  for (const char c : bytes) {
    out += digits[static_cast<unsigned char>(c) >> 4];
    out += digits[static_cast<unsigned char>(c) & 0x0f];
  }
  return out;
}

std::string json_quoted(std::string_view text) { return nlohmann::json(std::string(text)).dump(); }

// --- the parsed value --------------------------------------------------------

/// One parsed value, already in msgpack's terms (tagged forms resolved).
struct Node {
  enum class Kind { nil, boolean, negative, positive, float64, str, bin, ext, array, map };
  Kind kind = Kind::nil;
  bool boolean = false;
  std::int64_t negative = 0;   // Kind::negative, always < 0
  std::uint64_t positive = 0;  // Kind::positive
  double float64 = 0;
  std::int8_t ext_type = 0;
  std::string bytes{};         // str, bin and ext payloads
  std::vector<Node> items{};   // array elements; map keys and values, alternating
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
  // Recursion is bounded: the reader refuses more than max_json_depth levels.
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

// --- where values are --------------------------------------------------------

/// ".name" when `name` is a plain identifier (ASCII letters, digits and '_',
/// not starting with a digit), else ["name"] as a JSON string.
void append_member(std::string& path, std::string_view name) {
  const auto word = [](char c) { return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
  const auto digit = [](char c) { return c >= '0' && c <= '9'; };
  const bool plain = !name.empty() && word(name[0]) &&
                     std::all_of(name.begin(), name.end(), [&](char c) { return word(c) || digit(c); });
  path += plain ? "." + std::string(name) : "[" + json_quoted(name) + "]";
}

void append_index(std::string& path, std::size_t index) { path += "[" + std::to_string(index) + "]"; }

// --- nlohmann's errors -------------------------------------------------------

/// nlohmann's message without its "[json.exception...] parse error at line
/// L, column C: " prefix (the byte replaces it), and with what it quotes
/// as "last read" cut to its last bytes (that is where the problem is; the
/// token may be a megabyte long) and made valid UTF-8.
std::string problem_of(const nlohmann::detail::exception& error, const std::string& last_read) {
  std::string message = error.what();
  const auto column = message.find("column ");
  if (const auto colon = message.find(": ", column); column != std::string::npos && colon != std::string::npos) {
    message.erase(0, colon + 2);
  }
  constexpr std::size_t kept = 24;
  const std::string quote = "last read: '" + last_read + "'";
  if (const auto at = message.find(quote); at != std::string::npos && last_read.size() > kept) {
    std::size_t from = last_read.size() - kept;
    while (from < last_read.size() && (static_cast<unsigned char>(last_read[from]) & 0xc0) == 0x80) ++from;
    message.replace(at, quote.size(), "last read: '..." + last_read.substr(from) + "'");
  }
  return wire::replace_invalid_utf8(message);
}

// --- the reader --------------------------------------------------------------

/// Builds the Node of a JSON text from nlohmann's SAX events, refusing what
/// the codec's rules refuse as soon as it sees it (by throwing JsonError), so
/// 1 MB of '[' stops at the 65th. nlohmann's parser keeps its own state on
/// the heap, one bit per open container: it never recurses.
class Reader {
 public:
  explicit Reader(std::string_view text) noexcept : text_(text) {}

  Node document() {
    // nlohmann skips a UTF-8 byte order mark, and ends the text at a NUL
    // byte (for C strings): RFC 8259 JSON has neither.
    if (text_.starts_with("\xef\xbb\xbf")) throw SyntaxError(0, "a byte order mark (the text must start with its value)");
    if (const auto nul = text_.find('\0'); nul != std::string_view::npos) {
      throw SyntaxError(nul, "a NUL byte (JSON text has none; in a string it is written \\u0000)");
    }
    nlohmann::json::sax_parse(text_, this, nlohmann::json::input_format_t::json, /*strict=*/true,
                              /*ignore_comments=*/false);
    return std::move(*document_);
  }

  // The SAX interface (nlohmann::json_sax).
  bool null() { return attach(Node{}); }
  bool boolean(bool value) { return attach(Node{.kind = Node::Kind::boolean, .boolean = value}); }
  bool number_integer(std::int64_t value) {  // "-0" comes here as 0: the integer 0
    return attach(value < 0 ? Node{.kind = Node::Kind::negative, .negative = value}
                            : Node{.kind = Node::Kind::positive, .positive = static_cast<std::uint64_t>(value)});
  }
  bool number_unsigned(std::uint64_t value) { return attach(Node{.kind = Node::Kind::positive, .positive = value}); }
  bool number_float(double value, const std::string&) {  // finite: nlohmann refuses 1e400 (error 406)
    return attach(Node{.kind = Node::Kind::float64, .float64 = value});
  }
  bool string(std::string& value) {
    if (value.size() > max_msgpack_count) throw JsonError(path(), "string longer than msgpack can hold");
    return attach(Node{.kind = Node::Kind::str, .bytes = std::move(value)});
  }
  bool binary(nlohmann::json::binary_t&) { return false; }  // never raised for JSON text
  bool start_object(std::size_t) { return open(Node::Kind::map); }
  bool start_array(std::size_t) { return open(Node::Kind::array); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }
  bool key(std::string& name);
  bool parse_error(std::size_t read, const std::string& last_read, const nlohmann::detail::exception& error);

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
  std::vector<Frame> stack_;  // at most max_json_depth + 1 open containers
  std::optional<Node> document_;

  /// The JSON path of the value being read: where each open container is,
  /// from the outside in. (Only built for an error.)
  [[nodiscard]] std::string path() const {
    std::string path = "$";
    for (const Frame& frame : stack_) {
      const std::vector<Node>& items = frame.node.items;
      if (frame.node.kind == Node::Kind::array) {
        append_index(path, items.size());
      } else if (items.size() % 2 == 1) {
        append_member(path, items.back().bytes);  // the key read last
      }
    }
    return path;
  }

  [[noreturn]] void too_deep() const {
    throw JsonError(path(), "arrays and maps nested deeper than " + std::to_string(max_json_depth) + " levels");
  }

  /// Adds a completed value to the innermost container, or makes it the document.
  bool attach(Node value) {
    if (stack_.empty()) {
      document_ = std::move(value);
      return true;
    }
    Node& container = stack_.back().node;
    const std::size_t count = container.kind == Node::Kind::array ? container.items.size() : container.items.size() / 2;
    if (count >= max_msgpack_count) throw JsonError(path(), "more elements than msgpack can count");
    container.items.push_back(std::move(value));
    return true;
  }

  bool open(Node::Kind kind) {
    Frame frame;
    frame.node.kind = kind;
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
    if (frame.depth > (decided_at_close ? max_json_depth + 1 : max_json_depth)) too_deep();
    stack_.push_back(std::move(frame));
    return true;
  }

  // The container leaves the stack first: path() is then its own path.
  bool close() {
    Frame frame = std::move(stack_.back());
    stack_.pop_back();
    Node node = std::move(frame.node);
    if (node.kind == Node::Kind::map && !node.items.empty() && is_tag(node.items[0].bytes)) {
      node = tagged(std::move(node));
    }
    if (frame.role == Role::plain && is_container(node) && frame.depth > max_json_depth) too_deep();
    return attach(std::move(node));
  }

  // Tagged forms, checked when their object closes; path() is the object's.
  [[noreturn]] void refuse(const std::string& problem, std::optional<std::string_view> member = {},
                           std::optional<std::size_t> index = {}) const;
  void require_keys(const Node& object, std::initializer_list<std::string_view> keys, std::string_view form) const;
  std::string hex_bytes(const Node& value, std::string_view key) const;
  Node tagged(Node object) const;
};

bool Reader::key(std::string& name) {
  Frame& frame = stack_.back();
  if (!frame.keys.insert(name).second) {
    std::string at = path();  // the object's: its last member is complete
    append_member(at, name);
    throw JsonError(at, "duplicate key " + json_quoted(name) + " (a map with repeated keys is written as \"$map\")");
  }
  frame.node.items.push_back(Node{.kind = Node::Kind::str, .bytes = std::move(name)});
  return true;
}

bool Reader::parse_error(std::size_t read, const std::string& last_read, const nlohmann::detail::exception& error) {
  constexpr int number_overflow = 406;  // out_of_range.406: a float beyond float64, such as 1e400
  if (error.id == number_overflow) throw JsonError(path(), "number beyond the range of float64");
  std::string problem = problem_of(error, last_read);
  // nlohmann counts the bytes it read, the end of the text counting as one:
  // the problem is at the last of them.
  const std::size_t at = std::min(read, text_.size() + 1) - (read > 0 ? 1 : 0);
  // "01" lexes as the numbers 0 and 1, and nlohmann refuses the second: a
  // number (last_read, ending where reading stopped) right after a '0'.
  if (problem.find("unexpected number literal") != std::string::npos && !last_read.empty() &&
      last_read[0] >= '0' && last_read[0] <= '9') {
    const std::size_t end = std::min(read, text_.size());
    const std::size_t start = end - std::min(end, last_read.size());
    if (start > 0 && text_[start - 1] == '0') problem += " (a number cannot start with 0 and go on with digits)";
  }
  // \uD800 alone is JSON by the grammar, yet no UTF-8 text: a rule of this codec.
  if (problem.find("surrogate U+") != std::string::npos) throw JsonError(at, problem);
  throw SyntaxError(at, problem);
}

// --- tagged forms, checked when their object closes ---

/// Refuses the object (its path is path()), one of its members, or an
/// element of one.
void Reader::refuse(const std::string& problem, std::optional<std::string_view> member,
                    std::optional<std::size_t> index) const {
  std::string at = path();
  if (member) append_member(at, *member);
  if (index) append_index(at, *index);
  throw JsonError(at, problem);
}

/// Checks that `object` has exactly `keys` in this order.
void Reader::require_keys(const Node& object, std::initializer_list<std::string_view> keys,
                          std::string_view form) const {
  const std::string problem =
      "an object whose first key is " + json_quoted(object.items[0].bytes) + " must be exactly " + std::string(form);
  std::size_t i = 0;
  for (const std::string_view key : keys) {
    if (object.items.size() <= 2 * i) refuse(problem);  // a key is missing
    if (object.items[2 * i].bytes != key) refuse(problem, object.items[2 * i].bytes);
    ++i;
  }
  if (object.items.size() > 2 * i) refuse(problem, object.items[2 * i].bytes);
}

/// The bytes spelled by a hex string value, the object's member `key`.
std::string Reader::hex_bytes(const Node& value, std::string_view key) const {
  if (value.kind != Node::Kind::str) refuse(json_quoted(key) + " takes a string of hex digits", key);
  const std::string& hex = value.bytes;
  if (hex.size() % 2 != 0) refuse(json_quoted(key) + " takes an even number of hex digits", key);
  std::string bytes;
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    const int high = hex_value(hex[i]);
    const int low = hex_value(hex[i + 1]);
    if (high < 0 || low < 0) refuse(json_quoted(key) + " takes hex digits only (0-9, a-f, A-F)", key);
    bytes += static_cast<char>(high * 16 + low);
  }
  return bytes;
}

/// Resolves an object whose first key is a tag into the value it spells.
Node Reader::tagged(Node object) const {
  const std::string& tag = object.items[0].bytes;
  Node node;
  if (tag == tag_bytes) {
    require_keys(object, {tag_bytes}, "{\"$bytes\": \"HEX\"}");
    node.kind = Node::Kind::bin;
    node.bytes = hex_bytes(object.items[1], tag_bytes);
  } else if (tag == tag_ext) {
    require_keys(object, {tag_ext, "hex"}, "{\"$ext\": TYPE, \"hex\": \"HEX\"}");
    const Node& type = object.items[1];
    const bool fits = (type.kind == Node::Kind::negative && type.negative >= -128) ||
                      (type.kind == Node::Kind::positive && type.positive <= 127);
    if (!fits) refuse("\"$ext\" takes an integer type from -128 to 127", tag_ext);
    node.kind = Node::Kind::ext;
    node.ext_type = static_cast<std::int8_t>(type.kind == Node::Kind::negative ? type.negative
                                                                               : static_cast<std::int64_t>(type.positive));
    node.bytes = hex_bytes(object.items[3], "hex");
  } else {
    require_keys(object, {tag_map}, "{\"$map\": [[KEY, VALUE], ...]}");
    Node& entries = object.items[1];
    if (entries.kind != Node::Kind::array) refuse("\"$map\" takes an array of [key, value] pairs", tag_map);
    node.kind = Node::Kind::map;
    for (std::size_t i = 0; i < entries.items.size(); ++i) {
      Node& entry = entries.items[i];
      if (entry.kind != Node::Kind::array || entry.items.size() != 2) {
        refuse("a \"$map\" entry must be a [key, value] array", tag_map, i);
      }
      node.items.push_back(std::move(entry.items[0]));
      node.items.push_back(std::move(entry.items[1]));
    }
  }
  return node;
}

// --- the writer --------------------------------------------------------------

// Keys stay in the order the map has them.
using Json = nlohmann::ordered_json;

std::string_view text_of(const msgpack::object& o) noexcept { return {o.via.str.ptr, o.via.str.size}; }

/// {"tag": value}, in one step.
Json tagged_form(std::string_view tag, Json value) {
  Json form = Json::object();
  form.get_ref<Json::object_t&>().emplace_back(std::string(tag), std::move(value));
  return form;
}

Json bytes_form(std::string_view bytes) { return tagged_form(tag_bytes, hex_of(bytes)); }

/// A float32 as the float64 nearest its shortest decimal form, so that it
/// prints as that form (0.1f as 0.1, not 0.10000000149011612).
double widened(float value) {
  if (!std::isfinite(value)) return value;  // printed as null
  std::array<char, 32> text{};
  const auto written = std::to_chars(text.data(), text.data() + text.size(), value);
  double wide = value;
  std::from_chars(text.data(), written.ptr, wide);
  return wide;
}

/// Whether a map can be written as a JSON object and read back the same.
bool is_plain_object(const msgpack::object_map& map) {
  std::set<std::string_view> keys;
  for (std::uint32_t i = 0; i < map.size; ++i) {
    const msgpack::object& key = map.ptr[i].key;
    if (key.type != msgpack::type::STR) return false;
    const std::string_view text = text_of(key);
    if (!wire::valid_utf8(text)) return false;
    if (i == 0 && is_tag(text)) return false;
    if (!keys.insert(text).second) return false;
  }
  return true;
}

/// `depth` counts the arrays and maps around `o`.
Json json_of(const msgpack::object& o, std::size_t depth) {
  const bool container = o.type == msgpack::type::ARRAY || o.type == msgpack::type::MAP;
  if (container && depth >= max_json_depth) {
    throw ConversionError("cannot render as JSON: arrays and maps nested deeper than " +
                          std::to_string(max_json_depth) + " levels");
  }
  switch (o.type) {
    case msgpack::type::NIL: return nullptr;
    case msgpack::type::BOOLEAN: return o.via.boolean;
    case msgpack::type::POSITIVE_INTEGER: return o.via.u64;
    case msgpack::type::NEGATIVE_INTEGER: return o.via.i64;
    case msgpack::type::FLOAT32: return widened(static_cast<float>(o.via.f64));
    case msgpack::type::FLOAT64: return o.via.f64;  // dump() writes NaN and infinities as null
    case msgpack::type::STR: return wire::valid_utf8(text_of(o)) ? Json(std::string(text_of(o))) : bytes_form(text_of(o));
    case msgpack::type::BIN: return bytes_form({o.via.bin.ptr, o.via.bin.size});
    case msgpack::type::EXT: {
      Json form = tagged_form(tag_ext, static_cast<int>(o.via.ext.type()));
      form.get_ref<Json::object_t&>().emplace_back("hex", hex_of({o.via.ext.data(), o.via.ext.size}));
      return form;
    }
    case msgpack::type::ARRAY: {
      Json array = Json::array();
      for (std::uint32_t i = 0; i < o.via.array.size; ++i) array.push_back(json_of(o.via.array.ptr[i], depth + 1));
      return array;
    }
    case msgpack::type::MAP: {
      const msgpack::object_map& map = o.via.map;
      if (is_plain_object(map)) {
        Json object = Json::object();
        auto& members = object.get_ref<Json::object_t&>();  // keys known distinct: no lookup per key
        for (std::uint32_t i = 0; i < map.size; ++i) {
          members.emplace_back(std::string(text_of(map.ptr[i].key)), json_of(map.ptr[i].val, depth + 1));
        }
        return object;
      }
      Json entries = Json::array();
      for (std::uint32_t i = 0; i < map.size; ++i) {
        entries.push_back(Json::array({json_of(map.ptr[i].key, depth + 1), json_of(map.ptr[i].val, depth + 1)}));
      }
      return tagged_form(tag_map, std::move(entries));
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

JsonError::JsonError(std::string path, const std::string& problem)
    : UsageError("invalid JSON at " + path + ": " + problem), path_(std::move(path)) {}

void json_to_msgpack(std::string_view json, msgpack::packer<msgpack::sbuffer>& out) {
  const Node document = Reader(json).document();
  pack(document, out);
}

msgpack::object_handle parse_json(std::string_view json) {
  msgpack::sbuffer buffer;
  msgpack::packer<msgpack::sbuffer> packer(buffer);
  json_to_msgpack(json, packer);
  return unpacked(buffer);
}

msgpack::object_handle parse_argument(std::string_view text) {
  if (const std::size_t bad = wire::invalid_utf8_at(text); bad != std::string_view::npos) {
    throw JsonError(bad, "the argument is not UTF-8 text (pass bytes as {\"$bytes\": \"HEX\"})");
  }
  try {
    return parse_json(text);
  } catch (const SyntaxError&) {
    // Not JSON: the text is the argument.
  }
  if (text.size() > max_msgpack_count) {
    throw JsonError(std::string("$"), "the argument is longer than msgpack can hold");
  }
  msgpack::sbuffer buffer;
  msgpack::packer<msgpack::sbuffer> packer(buffer);
  const auto size = static_cast<std::uint32_t>(text.size());
  packer.pack_str(size);
  packer.pack_str_body(text.data(), size);
  return unpacked(buffer);
}

std::string to_json(const msgpack::object& value) { return json_of(value, 0).dump(); }

bool is_utf8(std::string_view text) noexcept { return wire::valid_utf8(text); }

}  // namespace pseud::cli
