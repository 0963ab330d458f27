// Golden vectors captured from Python pseud (protocol/vectors/golden.txt):
// every vector must decode to its recorded meaning, and our encoders must
// reproduce its bytes exactly.

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include <gtest/gtest.h>

#include "pseud/detail/outgoing_call.hpp"
#include "pseud/values.hpp"
#include "test_support.hpp"
#include "wire/bodies.hpp"
#include "wire/frames.hpp"

namespace pseud::test {
namespace {

// --- the file ---

struct Vector {
  std::string name;
  int line = 0;  // where the block starts, for failure messages
  std::map<std::string, std::string> fields;

  std::string field(const std::string& key) const {
    const auto it = fields.find(key);
    if (it == fields.end()) {
      ADD_FAILURE() << name << ": no '" << key << "' field";
      return {};
    }
    return it->second;
  }
  bool has(const std::string& key) const { return fields.count(key) != 0; }
};

std::string trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r");
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(" \t\r");
  return std::string(text.substr(first, last - first + 1));
}

std::filesystem::path golden_path() {
  const char* root = std::getenv("PSEUD_SOURCE_ROOT");
  return std::filesystem::path(root ? root : "") / "protocol" / "vectors" / "golden.txt";
}

// Blocks start at "name:"; "#" lines and blank lines are ignored.
std::vector<Vector> load_vectors(std::string* error) {
  if (std::getenv("PSEUD_SOURCE_ROOT") == nullptr) {
    *error = "PSEUD_SOURCE_ROOT is not set";
    return {};
  }
  std::ifstream in(golden_path());
  if (!in) {
    *error = "cannot open " + golden_path().string();
    return {};
  }
  std::vector<Vector> vectors;
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    const std::string text = trim(line);
    if (text.empty() || text[0] == '#') continue;
    const auto colon = text.find(':');
    if (colon == std::string::npos) {
      *error = "line " + std::to_string(number) + ": expected 'key: value'";
      return {};
    }
    const std::string key = text.substr(0, colon);
    const std::string value = trim(std::string_view(text).substr(colon + 1));
    if (key == "name") {
      vectors.push_back(Vector{value, number, {}});
    } else if (vectors.empty()) {
      *error = "line " + std::to_string(number) + ": field before the first 'name:'";
      return {};
    } else if (!vectors.back().fields.emplace(key, value).second) {
      *error = "line " + std::to_string(number) + ": duplicate field '" + key + "'";
      return {};
    }
  }
  return vectors;
}

const std::vector<Vector>& vectors() {
  static std::string error;
  static const std::vector<Vector> loaded = load_vectors(&error);
  if (!error.empty()) ADD_FAILURE() << error;
  return loaded;
}

// "(empty)" or lower-case hex.
std::string bytes_field(const std::string& text) { return text == "(empty)" ? std::string() : hex_decode(text); }

std::vector<std::string> frames_of(const Vector& v) {
  std::vector<std::string> frames;
  const std::string text = v.field("frames");
  std::size_t start = 0;
  while (true) {
    const auto bar = text.find('|', start);
    frames.push_back(bytes_field(trim(std::string_view(text).substr(start, bar - start))));
    if (bar == std::string::npos) break;
    start = bar + 1;
  }
  return frames;
}

// A quoted string with \\ \" \n \t \r \xNN escapes.
std::string unquote(const std::string& text) {
  if (text.size() < 2 || text.front() != '"' || text.back() != '"') {
    ADD_FAILURE() << "not a quoted string: " << text;
    return {};
  }
  std::string out;
  for (std::size_t i = 1; i + 1 < text.size(); ++i) {
    if (text[i] != '\\') {
      out += text[i];
      continue;
    }
    const char escape = text[++i];
    switch (escape) {
      case 'n': out += '\n'; break;
      case 't': out += '\t'; break;
      case 'r': out += '\r'; break;
      case 'x':
        out += hex_decode(text.substr(i + 1, 2));
        i += 2;
        break;
      default: out += escape; break;  // \\ and \"
    }
  }
  return out;
}

// --- rendering a decoded value in the file's notation ---

std::string quote(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out = "\"";
  for (const char c : bytes) {
    const auto b = static_cast<unsigned char>(c);
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else if (b >= 0x20 && b <= 0x7e) {
      out += c;
    } else {
      out += "\\x";
      out += digits[b >> 4];
      out += digits[b & 0xf];
    }
  }
  return out + '"';
}

template <class T>
std::string bits_hex(T value) {
  static_assert(sizeof(T) == 4 || sizeof(T) == 8);
  using U = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;
  U bits;
  std::memcpy(&bits, &value, sizeof bits);
  std::string big_endian;
  for (int shift = 8 * sizeof(U) - 8; shift >= 0; shift -= 8) big_endian += static_cast<char>((bits >> shift) & 0xff);
  return hex_encode(big_endian);
}

std::string render(const msgpack::object& o) {
  switch (o.type) {
    case msgpack::type::NIL: return "nil";
    case msgpack::type::BOOLEAN: return o.via.boolean ? "true" : "false";
    case msgpack::type::POSITIVE_INTEGER: return std::to_string(o.via.u64);
    case msgpack::type::NEGATIVE_INTEGER: return std::to_string(o.via.i64);
    case msgpack::type::FLOAT32: return "f32:" + bits_hex(static_cast<float>(o.via.f64));
    case msgpack::type::FLOAT64: return "f64:" + bits_hex(o.via.f64);
    case msgpack::type::STR: return quote({o.via.str.ptr, o.via.str.size});
    case msgpack::type::BIN: return "bin:" + hex_encode({o.via.bin.ptr, o.via.bin.size});
    case msgpack::type::EXT:
      return "ext:" + std::to_string(o.via.ext.type()) + ":" + hex_encode({o.via.ext.data(), o.via.ext.size});
    case msgpack::type::ARRAY: {
      std::string out = "[";
      for (std::uint32_t i = 0; i < o.via.array.size; ++i) out += (i ? ", " : "") + render(o.via.array.ptr[i]);
      return out + "]";
    }
    case msgpack::type::MAP: {
      std::string out = "{";
      for (std::uint32_t i = 0; i < o.via.map.size; ++i) {
        out += (i ? ", " : "") + render(o.via.map.ptr[i].key) + ": " + render(o.via.map.ptr[i].val);
      }
      return out + "}";
    }
  }
  return "?";
}

std::optional<wire::MessageType> type_named(const std::string& name) {
  for (int b = 0; b < 256; ++b) {
    const auto type = wire::message_type_from_byte(static_cast<std::uint8_t>(b));
    if (type && wire::message_type_name(*type) == name) return type;
  }
  return std::nullopt;
}

std::optional<msgpack::object_handle> unpack(const Vector& v, std::string_view body) {
  auto result = wire::unpack_body(body);
  if (auto* error = std::get_if<wire::BodyError>(&result)) {
    ADD_FAILURE() << v.name << ": body refused: " << wire::body_error_text(*error);
    return std::nullopt;
  }
  return std::move(std::get<msgpack::object_handle>(result));
}

// --- C++ values for the captured WORK and OK bodies ---

struct Greeting {
  std::string text;
  std::map<std::string, int> extra;
  MSGPACK_DEFINE_MAP(text, extra)
};

struct SpreadArgs {
  std::vector<std::string> args;
  std::map<std::string, int> kwargs;
  MSGPACK_DEFINE_MAP(args, kwargs)
};

template <class... A>
std::string call_body(const Vector& v, A&&... args) {
  const auto call = detail::pack_call("server", unquote(v.field("work_name")), std::forward<A>(args)...);
  return {call.body.data(), call.body.size()};
}

template <class T>
std::string packed(const T& value) {
  msgpack::sbuffer buffer;
  msgpack::pack(buffer, value);
  return {buffer.data(), buffer.size()};
}

// "ext:<code>:<hex>" from the vector's value field.
std::string packed_ext(const Vector& v) {
  const std::string value = v.field("value");
  const auto second = value.find(':', 4);
  if (value.rfind("ext:", 0) != 0 || second == std::string::npos) {
    ADD_FAILURE() << v.name << ": value is not ext:<code>:<hex>";
    return {};
  }
  const int code = std::stoi(value.substr(4, second - 4));
  const std::string payload = hex_decode(value.substr(second + 1));
  return packed(msgpack::type::ext(static_cast<std::int8_t>(code), payload.data(), static_cast<std::uint32_t>(payload.size())));
}

using Encoder = std::function<std::string(const Vector&)>;

// How a C++ caller makes each captured WORK body.
const std::map<std::string, Encoder>& work_encoders() {
  static const std::map<std::string, Encoder> encoders = {
      {"work_add", [](const Vector& v) { return call_body(v, 1, 2); }},
      {"req_work_add", [](const Vector& v) { return call_body(v, 1, 2); }},
      {"server_work_add", [](const Vector& v) { return call_body(v, 1, 2); }},
      {"work_greet_kwargs", [](const Vector& v) { return call_body(v, std::string("bob"), kw("greeting", "Hi")); }},
      {"work_echo_bin", [](const Vector& v) { return call_body(v, Bytes(std::string("\x00\xff", 2))); }},
      {"work_fail", [](const Vector& v) { return call_body(v, "oops"); }},
      {"work_nosuch", [](const Vector& v) { return call_body(v); }},
      {"work_now", [](const Vector& v) { return call_body(v); }},
      {"work_whoami", [](const Vector& v) { return call_body(v); }},
      {"work_string_lower", [](const Vector& v) { return call_body(v, std::string("ABC")); }},
  };
  return encoders;
}

// How a C++ handler's return value makes each captured OK body.
const std::map<std::string, Encoder>& ok_encoders() {
  static const std::map<std::string, Encoder> encoders = {
      {"ok_add_int", [](const Vector&) { return packed(3); }},
      {"req_ok_add_int", [](const Vector&) { return packed(3); }},
      {"server_ok_add_int", [](const Vector&) { return packed(3); }},
      {"ok_empty_id", [](const Vector&) { return packed(3); }},
      {"ok_3_byte_id", [](const Vector&) { return packed(3); }},
      {"ok_greet_map", [](const Vector&) { return packed(Greeting{"Hi, bob!", {}}); }},
      {"ok_echo_bin", [](const Vector&) { return packed(Bytes(std::string("\x00\xff", 2))); }},
      {"ok_now_ext125", [](const Vector& v) { return packed_ext(v); }},
      {"ok_whoami_bin", [](const Vector&) { return packed(Bytes(std::string("alice"))); }},
      {"ok_lower_str", [](const Vector&) { return packed(std::string("abc")); }},
      {"ok_args_as_map", [](const Vector&) { return packed(SpreadArgs{{"a"}, {}}); }},
      {"ok_ext42", [](const Vector&) { return packed(msgpack::type::ext(42, "xy", 2)); }},
  };
  return encoders;
}

// --- checks ---

void check_decoding(const Vector& v) {
  const std::vector<std::string> frames = frames_of(v);
  std::vector<std::string_view> views(frames.begin(), frames.end());
  const auto decoded = wire::decode_frames(views);
  if (auto* error = std::get_if<wire::FrameError>(&decoded)) {
    ADD_FAILURE() << v.name << ": frames refused: " << wire::frame_error_text(*error);
    return;
  }
  const wire::Envelope& envelope = std::get<wire::Envelope>(decoded);
  const std::string form = v.field("form");
  const wire::Form expected_form = form == "router" ? wire::Form::router
                                   : form == "req"  ? wire::Form::req
                                                    : wire::Form::probe;
  ASSERT_TRUE(form == "router" || form == "req" || form == "probe") << v.name << ": form " << form;
  EXPECT_EQ(envelope.form, expected_form);
  EXPECT_EQ(hex_encode(envelope.routing_id), form == "req" ? "" : hex_encode(bytes_field(v.field("routing_id"))));
  if (expected_form == wire::Form::probe) return;

  const wire::Message& message = envelope.message;
  EXPECT_EQ(wire::message_type_name(message.type), v.field("type"));
  EXPECT_EQ(hex_encode(message.id), hex_encode(bytes_field(v.field("id"))));

  switch (message.type) {
    case wire::MessageType::work: {
      const auto handle = unpack(v, message.body);
      if (!handle) return;
      EXPECT_EQ(render(handle->get()), v.field("value"));
      const auto work = wire::decode_work(handle->get());
      if (auto* rejection = std::get_if<wire::WorkRejection>(&work)) {
        ADD_FAILURE() << v.name << ": WORK rejected: " << rejection->class_name << ": " << rejection->message;
        return;
      }
      const auto& body = std::get<wire::WorkBody>(work);
      EXPECT_EQ(body.name, unquote(v.field("work_name")));
      EXPECT_EQ(std::to_string(body.arg_count), v.field("work_args"));
      std::string kwarg_names = "[";
      for (std::uint32_t i = 0; i < body.kwarg_count; ++i) {
        kwarg_names += (i ? ", " : "") + render(body.kwargs[i].key);
      }
      EXPECT_EQ(kwarg_names + "]", v.field("work_kwargs"));
      break;
    }
    case wire::MessageType::ok: {
      const auto handle = unpack(v, message.body);
      if (!handle) return;
      EXPECT_EQ(render(handle->get()), v.field("value"));
      break;
    }
    case wire::MessageType::error: {
      const auto handle = unpack(v, message.body);
      if (!handle) return;
      const msgpack::object& o = handle->get();
      ASSERT_EQ(o.type, msgpack::type::ARRAY);
      for (std::uint32_t i = 0; i < o.via.array.size; ++i) {
        EXPECT_EQ(o.via.array.ptr[i].type, msgpack::type::STR) << "element " << i;  // Python sends str
      }
      const auto error = wire::decode_error(o);
      ASSERT_TRUE(error.has_value()) << v.name;
      EXPECT_EQ(error->name, unquote(v.field("error_class")));
      EXPECT_EQ(error->message, unquote(v.field("error_message")));
      EXPECT_EQ(error->traceback, unquote(v.field("error_traceback")));
      break;
    }
    case wire::MessageType::hello: {
      const auto handle = unpack(v, message.body);
      if (!handle) return;
      EXPECT_EQ(render(handle->get()), v.field("value"));
      const auto hello = wire::decode_hello(handle->get());
      ASSERT_TRUE(hello.has_value()) << v.name;
      EXPECT_EQ(hello->login, unquote(v.field("hello_login")));
      EXPECT_EQ(hello->password, unquote(v.field("hello_password")));
      break;
    }
    case wire::MessageType::authenticated:
    case wire::MessageType::unauthorized:
      // Raw text, not msgpack.
      EXPECT_EQ(message.body, unquote(v.field("text")));
      break;
    case wire::MessageType::heartbeat:
      EXPECT_TRUE(message.id.empty());
      EXPECT_TRUE(message.body.empty());
      break;
  }
}

// The body our encoders make from the vector's recorded meaning.
std::optional<std::string> encode_body(const Vector& v, wire::MessageType type) {
  switch (type) {
    case wire::MessageType::work:
    case wire::MessageType::ok: {
      const auto& table = type == wire::MessageType::work ? work_encoders() : ok_encoders();
      const auto it = table.find(v.name);
      if (it == table.end()) {
        ADD_FAILURE() << v.name << ": no C++ encoder for this vector";
        return std::nullopt;
      }
      return it->second(v);
    }
    case wire::MessageType::error: {
      msgpack::sbuffer buffer;
      wire::encode_error(buffer, unquote(v.field("error_class")), unquote(v.field("error_message")),
                         unquote(v.field("error_traceback")));
      return std::string(buffer.data(), buffer.size());
    }
    case wire::MessageType::hello: {
      msgpack::sbuffer buffer;
      wire::encode_hello(buffer, unquote(v.field("hello_login")), unquote(v.field("hello_password")));
      return std::string(buffer.data(), buffer.size());
    }
    case wire::MessageType::authenticated:
    case wire::MessageType::unauthorized: return unquote(v.field("text"));
    case wire::MessageType::heartbeat: return std::string();
  }
  return std::nullopt;
}

void check_encoding(const Vector& v) {
  const std::vector<std::string> frames = frames_of(v);
  const std::string form = v.field("form");
  if (form == "probe") {
    // Not a message; the probe is [routing id, ""].
    EXPECT_EQ(frames, (Frames{bytes_field(v.field("routing_id")), ""}));
    return;
  }
  const auto type = type_named(v.field("type"));
  ASSERT_TRUE(type.has_value()) << v.name << ": type " << v.field("type");
  const auto body = encode_body(v, *type);
  if (!body) return;
  EXPECT_EQ(hex_encode(*body), hex_encode(frames.back())) << v.name << ": body";

  const std::string id = bytes_field(v.field("id"));
  const wire::Message message{id, *type, *body};
  std::vector<std::string> encoded;
  if (form == "router") {
    const std::string routing_id = bytes_field(v.field("routing_id"));
    for (std::string_view frame : wire::router_frames(routing_id, message)) encoded.emplace_back(frame);
  } else {
    for (std::string_view frame : wire::req_frames(message)) encoded.emplace_back(frame);
  }
  EXPECT_EQ(encoded, frames) << v.name << ": frames";
}

// --- tests ---

TEST(GoldenVectors, FileIsWellFormed) {
  ASSERT_FALSE(vectors().empty()) << golden_path();
  std::set<std::string> names;
  for (const Vector& v : vectors()) {
    SCOPED_TRACE(v.name + " (golden.txt:" + std::to_string(v.line) + ")");
    EXPECT_TRUE(names.insert(v.name).second) << "duplicate name";
    EXPECT_TRUE(v.has("source"));
    const std::string form = v.field("form");
    const std::size_t count = frames_of(v).size();
    EXPECT_EQ(count, form == "router" ? 6u : form == "req" ? 4u : 2u);
    if (form != "probe") {
      EXPECT_TRUE(type_named(v.field("type")).has_value()) << v.field("type");
      EXPECT_TRUE(v.has("id"));
    }
  }
}

TEST(GoldenVectors, CoverTheRequiredCases) {
  std::set<std::string> names;
  std::set<std::string> types;
  std::set<std::string> forms;
  for (const Vector& v : vectors()) {
    names.insert(v.name);
    forms.insert(v.field("form"));
    if (v.has("type")) types.insert(v.field("type"));
  }
  for (const char* required :
       {"work_add", "work_greet_kwargs", "work_echo_bin", "ok_add_int", "ok_greet_map", "ok_echo_bin", "ok_ext42",
        "ok_now_ext125", "error_value_error", "error_service_not_found", "error_bin_name", "hello_john",
        "unauthorized_required", "authenticated_john", "heartbeat", "probe", "ok_empty_id", "ok_3_byte_id",
        "req_work_add"}) {
    EXPECT_EQ(names.count(required), 1u) << required;
  }
  EXPECT_EQ(types, (std::set<std::string>{"OK", "HELLO", "WORK", "AUTHENTICATED", "HEARTBEAT", "ERROR",
                                          "UNAUTHORIZED"}));
  EXPECT_EQ(forms, (std::set<std::string>{"router", "req", "probe"}));
}

TEST(GoldenVectors, EveryEncoderHasAVector) {
  // Catches a renamed vector silently skipping its encoder check.
  std::set<std::string> names;
  for (const Vector& v : vectors()) names.insert(v.name);
  for (const auto& table : {work_encoders(), ok_encoders()}) {
    for (const auto& [name, encoder] : table) EXPECT_EQ(names.count(name), 1u) << name;
  }
}

TEST(GoldenVectors, DecodeToTheirRecordedMeaning) {
  for (const Vector& v : vectors()) {
    SCOPED_TRACE(v.name + " (golden.txt:" + std::to_string(v.line) + ")");
    check_decoding(v);
  }
}

TEST(GoldenVectors, OurEncodersReproduceTheBytes) {
  for (const Vector& v : vectors()) {
    SCOPED_TRACE(v.name + " (golden.txt:" + std::to_string(v.line) + ")");
    check_encoding(v);
  }
}

TEST(GoldenVectors, BinNameRejectionMatchesPython) {
  // The ERROR Python sent for a bin name carries exactly what decode_work says.
  const Vector* vector = nullptr;
  for (const Vector& v : vectors()) {
    if (v.name == "error_bin_name") vector = &v;
  }
  ASSERT_NE(vector, nullptr);
  const auto handle = unpack(*vector, hex_decode("93c403616464920102" "80"));
  ASSERT_TRUE(handle.has_value());
  const auto work = wire::decode_work(handle->get());
  ASSERT_TRUE(std::holds_alternative<wire::WorkRejection>(work));
  EXPECT_EQ(std::get<wire::WorkRejection>(work).class_name, unquote(vector->field("error_class")));
  EXPECT_EQ(std::get<wire::WorkRejection>(work).message, unquote(vector->field("error_message")));
}

TEST(GoldenVectors, KeywordRejectionMatchesPython) {
  const Vector* vector = nullptr;
  for (const Vector& v : vectors()) {
    if (v.name == "error_kwargs_bin_keys") vector = &v;
  }
  ASSERT_NE(vector, nullptr);
  const auto handle = unpack(*vector, hex_decode("93a361646490" "81c4016101"));
  ASSERT_TRUE(handle.has_value());
  const auto work = wire::decode_work(handle->get());
  ASSERT_TRUE(std::holds_alternative<wire::WorkRejection>(work));
  EXPECT_EQ(std::get<wire::WorkRejection>(work).class_name, unquote(vector->field("error_class")));
  EXPECT_EQ(std::get<wire::WorkRejection>(work).message, unquote(vector->field("error_message")));
}

}  // namespace
}  // namespace pseud::test
