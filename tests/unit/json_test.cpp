// The pseud tool's JSON <-> msgpack codec: the mapping both ways, byte-exact
// against msgpack-c, the tagged forms, strict parsing with located errors,
// depth limits, and the argument fallback rule.

#include <bit>
#include <chrono>
#include <cstdio>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include "cli/json.hpp"
#include "test_support.hpp"

namespace pseud::test {
namespace {

using cli::JsonError;

// --- helpers -----------------------------------------------------------------

/// What json_to_msgpack packs, as hex.
std::string packed(std::string_view json) {
  msgpack::sbuffer buffer;
  msgpack::packer<msgpack::sbuffer> packer(buffer);
  cli::json_to_msgpack(json, packer);
  return hex_encode({buffer.data(), buffer.size()});
}

/// What msgpack-c packs for a C++ value, as hex.
template <class T>
std::string msgpack_c(const T& value) {
  msgpack::sbuffer buffer;
  msgpack::pack(buffer, value);
  return hex_encode({buffer.data(), buffer.size()});
}

/// A msgpack float64, as hex. (msgpack-c's pack_double() would write a
/// double with an integral value as an int: see FloatsStayFloat64.)
std::string float64(double value) {
  const auto bits = std::bit_cast<std::uint64_t>(value);
  std::string bytes(1, '\xcb');
  for (int shift = 56; shift >= 0; shift -= 8) bytes += static_cast<char>(bits >> shift);
  return hex_encode(bytes);
}

/// Hex without the spaces that group it for reading.
std::string compact(std::string_view spaced) {
  std::string hex;
  for (const char c : spaced) {
    if (c != ' ') hex += c;
  }
  return hex;
}

/// to_json of the msgpack value spelled in hex (spaces allowed).
std::string rendered(std::string_view hex) {
  const std::string bytes = hex_decode(compact(hex));
  const msgpack::object_handle handle = msgpack::unpack(bytes.data(), bytes.size());
  return cli::to_json(handle.get());
}

/// JSON -> msgpack -> JSON.
std::string canonical(std::string_view json) { return cli::to_json(cli::parse_json(json).get()); }

/// The str an argument became, or nullopt when it became something else.
std::optional<std::string> argument_string(std::string_view text) {
  const msgpack::object_handle handle = cli::parse_argument(text);
  if (handle.get().type != msgpack::type::STR) return std::nullopt;
  return std::string(handle.get().via.str.ptr, handle.get().via.str.size);
}

std::string nested_json_arrays(std::size_t depth, std::string_view inside = "") {
  return std::string(depth, '[') + std::string(inside) + std::string(depth, ']');
}

std::string nested_msgpack_arrays(std::size_t depth, std::string_view inside_hex = "c0") {
  std::string hex;
  for (std::size_t i = 0; i < depth; ++i) hex += "91";
  return hex + std::string(inside_hex);
}

std::string repeated(std::string_view text, std::size_t times) {
  std::string out;
  for (std::size_t i = 0; i < times; ++i) out += text;
  return out;
}

// How parse_argument treats a text parse_json refuses.
enum class Argument { becomes_string, is_refused };

/// Where a text is refused: at a byte (a syntax error), or at the JSON path
/// of a value (a rule of the codec).
struct At {
  At(std::size_t offset) : offset(offset) {}  // NOLINT(google-explicit-constructor): the tables below
  At(std::string path) : path(std::move(path)) {}  // NOLINT(google-explicit-constructor)
  template <std::size_t N>
  At(const char (&path)[N]) : path(path) {}  // NOLINT(google-explicit-constructor)

  std::optional<std::size_t> offset;
  std::string path;

  [[nodiscard]] std::string text() const { return offset ? "byte " + std::to_string(*offset) : path; }
};

struct Refusal {
  std::string json;
  At at;
  std::string problem;  // the message after "invalid JSON at byte N: " or "invalid JSON at PATH: "
  Argument argument;
};

::testing::AssertionResult refused_as(const Refusal& expected) {
  try {
    cli::parse_json(expected.json);
    return ::testing::AssertionFailure() << "accepted";
  } catch (const JsonError& error) {
    const std::string message = "invalid JSON at " + expected.at.text() + ": " + expected.problem;
    if (error.offset() != expected.at.offset || error.path() != expected.at.path || error.what() != message) {
      return ::testing::AssertionFailure() << "refused with \"" << error.what() << "\" (offset "
                                           << (error.offset() ? std::to_string(*error.offset()) : "none")
                                           << ", path \"" << error.path() << "\"), expected \"" << message << "\"";
    }
  }
  if (expected.argument == Argument::becomes_string) {
    const auto text = argument_string(expected.json);
    if (text != expected.json) return ::testing::AssertionFailure() << "as an argument, did not become the string";
  } else {
    try {
      cli::parse_argument(expected.json);
      return ::testing::AssertionFailure() << "accepted as an argument";
    } catch (const JsonError&) {
    }
  }
  return ::testing::AssertionSuccess();
}

// --- JSON -> msgpack ---------------------------------------------------------

TEST(JsonToMsgpack, Scalars) {
  EXPECT_EQ(packed("null"), "c0");
  EXPECT_EQ(packed("true"), "c3");
  EXPECT_EQ(packed("false"), "c2");
  EXPECT_EQ(packed(R"("a")"), "a161");
  EXPECT_EQ(packed(R"("")"), "a0");
  EXPECT_EQ(packed("[]"), "90");
  EXPECT_EQ(packed("{}"), "80");
  EXPECT_EQ(packed(" \t\r\n 7 \t\r\n "), "07");
}

TEST(JsonToMsgpack, MatchesMsgpackCForTheEquivalentValues) {
  EXPECT_EQ(packed(R"([1, "a", 1.5, null, true, {"k": -1}])"),
            msgpack_c(std::make_tuple(1, std::string("a"), 1.5, msgpack::type::nil_t(), true,
                                      std::map<std::string, int>{{"k", -1}})));
  msgpack::sbuffer buffer;
  msgpack::packer<msgpack::sbuffer> packer(buffer);
  packer.pack_map(2);
  packer.pack(std::string("add"));
  packer.pack(std::vector<int>{1, 2});
  packer.pack(std::string("name"));
  packer.pack(std::string("bob"));
  EXPECT_EQ(packed(R"({"add": [1, 2], "name": "bob"})"), hex_encode({buffer.data(), buffer.size()}));
  EXPECT_EQ(packed(R"([[], {}, [[]]])"), "939080" "9190");
}

TEST(JsonToMsgpack, IntegersUseMsgpackCsMinimalEncoding) {
  const std::vector<std::int64_t> signed_values = {
      0, 1, 127, 128, 255, 256, 65535, 65536, 4294967295, 4294967296, std::numeric_limits<std::int64_t>::max(),
      -1, -32, -33, -128, -129, -32768, -32769, -2147483648LL, -2147483649LL, std::numeric_limits<std::int64_t>::min()};
  for (const std::int64_t value : signed_values) {
    EXPECT_EQ(packed(std::to_string(value)), msgpack_c(value)) << value;
  }
  const std::uint64_t max = std::numeric_limits<std::uint64_t>::max();
  EXPECT_EQ(packed("18446744073709551615"), msgpack_c(max));
  EXPECT_EQ(packed("18446744073709551615"), "cfffffffffffffffff");
  EXPECT_EQ(packed("9223372036854775808"), msgpack_c(std::uint64_t{1} << 63));
}

TEST(JsonToMsgpack, MinusZeroIsTheIntegerZero) {
  EXPECT_EQ(packed("-0"), "00");
  EXPECT_EQ(packed("-0.0"), "cb8000000000000000");
}

TEST(JsonToMsgpack, FloatsStayFloat64) {
  // msgpack-c's packer turns a double with an integral value into an int;
  // JSON 1.0 is a float and must reach the peer as one.
  EXPECT_EQ(msgpack_c(1.0), "01");
  EXPECT_EQ(msgpack_c(-0.0), "00");
  EXPECT_EQ(packed("1.0"), "cb3ff0000000000000");
  EXPECT_EQ(packed("-2.0"), "cbc000000000000000");
  EXPECT_EQ(packed("0.0"), "cb0000000000000000");
  EXPECT_EQ(packed("1e0"), "cb3ff0000000000000");
  // Where msgpack-c writes a float64, the bytes agree.
  EXPECT_EQ(float64(1.5), msgpack_c(1.5));
  EXPECT_EQ(float64(-0.0025), msgpack_c(-0.0025));
}

TEST(JsonToMsgpack, FractionsExponentsAndHugeIntegersAreFloat64) {
  EXPECT_EQ(packed("1.5"), float64(1.5));
  EXPECT_EQ(packed("1.0"), float64(1.0));
  EXPECT_EQ(packed("1e3"), float64(1000.0));
  EXPECT_EQ(packed("1E+2"), float64(100.0));
  EXPECT_EQ(packed("25e-2"), float64(0.25));
  EXPECT_EQ(packed("-2.5e-3"), float64(-0.0025));
  EXPECT_EQ(packed("0.1"), float64(0.1));
  EXPECT_EQ(packed("18446744073709551616"), float64(18446744073709551616.0));
  EXPECT_EQ(packed("-9223372036854775809"), float64(-9223372036854775809.0));
  EXPECT_EQ(packed("100000000000000000000000"), float64(1e23));
  EXPECT_EQ(packed("1.7976931348623157e308"), float64(std::numeric_limits<double>::max()));
  EXPECT_EQ(packed("5e-324"), float64(std::numeric_limits<double>::denorm_min()));
  EXPECT_EQ(packed("0e99999"), float64(0.0));
}

TEST(JsonToMsgpack, NumbersTooSmallForFloat64BecomeZero) {
  EXPECT_EQ(packed("1e-400"), float64(0.0));
  EXPECT_EQ(packed("-1e-400"), float64(-0.0));
  EXPECT_EQ(packed("123456e-400"), float64(0.0));
  EXPECT_EQ(packed("0.001e-322"), float64(0.0));
  EXPECT_EQ(packed("1e-99999999999999999999"), float64(0.0));
  EXPECT_EQ(packed("0." + std::string(400, '0') + "1"), float64(0.0));
  EXPECT_EQ(packed("-0." + std::string(400, '0') + "1e+5"), float64(-0.0));
}

TEST(JsonToMsgpack, StringsDecodeEscapesToUtf8) {
  EXPECT_EQ(packed(R"("\"\\\/\b\f\n\r\t")"), msgpack_c(std::string("\"\\/\b\f\n\r\t")));
  EXPECT_EQ(packed(R"("\u0041\u00e9\u20AC")"), msgpack_c(std::string("A\xc3\xa9\xe2\x82\xac")));
  EXPECT_EQ(packed(R"("\ud83d\ude00")"), msgpack_c(std::string("\xf0\x9f\x98\x80")));
  EXPECT_EQ(packed(R"("\uDBFF\uDFFF")"), msgpack_c(std::string("\xf4\x8f\xbf\xbf")));
  EXPECT_EQ(packed(R"("a\u0000b")"), msgpack_c(std::string("a\0b", 3)));
  EXPECT_EQ(packed("\"caf\xc3\xa9 \xf0\x9f\x98\x80\""), msgpack_c(std::string("caf\xc3\xa9 \xf0\x9f\x98\x80")));
  EXPECT_EQ(packed("\"\x7f\""), "a17f");
}

TEST(JsonToMsgpack, LongStringsAndContainersUseWiderHeaders) {
  for (const std::size_t size : {31u, 32u, 255u, 256u, 65535u, 65536u}) {
    const std::string text(size, 'x');
    EXPECT_EQ(packed('"' + text + '"'), msgpack_c(text)) << size;
  }
  for (const std::size_t size : {15u, 16u, 65536u}) {
    std::string json = "[";
    for (std::size_t i = 0; i < size; ++i) json += i ? ",7" : "7";
    EXPECT_EQ(packed(json + "]"), msgpack_c(std::vector<int>(size, 7))) << size;
  }
  std::string object = "{";
  std::map<std::string, int> map;
  for (int i = 0; i < 16; ++i) {
    const std::string key = std::string("k") + static_cast<char>('a' + i);
    object += (i ? ",\"" : "\"") + key + "\":" + std::to_string(i);
    map[key] = i;
  }
  EXPECT_EQ(packed(object + "}"), msgpack_c(map));
}

TEST(JsonToMsgpack, ObjectKeysKeepTheirOrder) {
  EXPECT_EQ(packed(R"({"b": 1, "a": 2})"), "82" "a16201" "a16102");
}

TEST(JsonToMsgpack, ObjectsWithOtherDollarKeysAreOrdinaryMaps) {
  EXPECT_EQ(packed(R"({"$other": 1})"), msgpack_c(std::map<std::string, int>{{"$other", 1}}));
  EXPECT_EQ(packed(R"({"$Bytes": "zz"})"), msgpack_c(std::map<std::string, std::string>{{"$Bytes", "zz"}}));
  EXPECT_EQ(packed(R"({"$": 1})"), msgpack_c(std::map<std::string, int>{{"$", 1}}));
  // A tag name that is not the first key is an ordinary key.
  EXPECT_EQ(packed(R"({"x": 1, "$bytes": "zz"})"), "82" "a17801" "a6246279746573a27a7a");
  EXPECT_EQ(packed(R"({"hex": "00", "$ext": 1})"), "82" "a3686578a23030" "a424657874" "01");
}

// --- tagged forms in ---------------------------------------------------------

TEST(TaggedInput, Bytes) {
  EXPECT_EQ(packed(R"({"$bytes": "00ff"})"), msgpack_c(std::vector<char>{'\0', '\xff'}));
  EXPECT_EQ(packed(R"({"$bytes": "00ff"})"), "c40200ff");
  EXPECT_EQ(packed(R"({"$bytes": "DEADbeef"})"), "c404deadbeef");
  EXPECT_EQ(packed(R"({"$bytes": ""})"), "c400");
  EXPECT_EQ(packed(R"( { "$bytes" : "0a" } )"), "c4010a");
  EXPECT_EQ(packed(R"([{"$bytes": "01"}, {"$bytes": "02"}])"), "92c40101c40102");
}

TEST(TaggedInput, Ext) {
  EXPECT_EQ(packed(R"({"$ext": 5, "hex": "0102"})"), msgpack_c(msgpack::type::ext(5, "\x01\x02", 2)));
  EXPECT_EQ(packed(R"({"$ext": 5, "hex": "0102"})"), "d5050102");
  EXPECT_EQ(packed(R"({"$ext": -128, "hex": "AB"})"), "d480ab");
  EXPECT_EQ(packed(R"({"$ext": 127, "hex": "010203"})"), "c7037f010203");
  EXPECT_EQ(packed(R"({"$ext": -1, "hex": ""})"), "c700ff");
  EXPECT_EQ(packed(R"({"$ext": -0, "hex": "00"})"), "d40000");
}

TEST(TaggedInput, MapWithAnyKeys) {
  EXPECT_EQ(packed(R"({"$map": [[1, 2]]})"), msgpack_c(std::map<int, int>{{1, 2}}));
  EXPECT_EQ(packed(R"({"$map": [[1, "a"], [2, "b"]]})"),
            msgpack_c(std::map<int, std::string>{{1, "a"}, {2, "b"}}));
  EXPECT_EQ(packed(R"({"$map": []})"), "80");
  EXPECT_EQ(packed(R"({"$map": [["a", 1]]})"), "81a16101");
  EXPECT_EQ(packed(R"({"$map": [[null, true], [[1], {}], [{"$bytes": "00"}, 1.5]]})"),
            "83" "c0c3" "910180" "c40100" + msgpack_c(1.5));
  // Repeated keys are only expressible here.
  EXPECT_EQ(packed(R"({"$map": [["a", 1], ["a", 2]]})"), "82a16101a16102");
  // Maps of maps.
  EXPECT_EQ(packed(R"({"$map": [[{"$map": [[1, 2]]}, {"$map": []}]]})"), "81" "810102" "80");
}

struct TagCase {
  std::string json;
  std::string path;
  std::string problem;
};

TEST(TaggedInput, MisusedFormsAreRefusedWithTheirPlace) {
  const std::string bytes_form = R"(an object whose first key is "$bytes" must be exactly {"$bytes": "HEX"})";
  const std::string ext_form = R"(an object whose first key is "$ext" must be exactly {"$ext": TYPE, "hex": "HEX"})";
  const std::string map_form = R"(an object whose first key is "$map" must be exactly {"$map": [[KEY, VALUE], ...]})";
  const std::vector<TagCase> cases = {
      {R"({"$bytes": "0"})", R"($["$bytes"])", R"("$bytes" takes an even number of hex digits)"},
      {R"({"$bytes": "abc"})", R"($["$bytes"])", R"("$bytes" takes an even number of hex digits)"},
      {R"({"$bytes": "zz"})", R"($["$bytes"])", R"("$bytes" takes hex digits only (0-9, a-f, A-F))"},
      {R"({"$bytes": "0g"})", R"($["$bytes"])", R"("$bytes" takes hex digits only (0-9, a-f, A-F))"},
      {R"({"$bytes": " 00"})", R"($["$bytes"])", R"("$bytes" takes an even number of hex digits)"},
      {R"({"$bytes": "0x00"})", R"($["$bytes"])", R"("$bytes" takes hex digits only (0-9, a-f, A-F))"},
      {R"({"$bytes": 5})", R"($["$bytes"])", R"("$bytes" takes a string of hex digits)"},
      {R"({"$bytes": null})", R"($["$bytes"])", R"("$bytes" takes a string of hex digits)"},
      {R"({"$bytes": ["00"]})", R"($["$bytes"])", R"("$bytes" takes a string of hex digits)"},
      {R"({"$bytes": "00", "x": 1})", "$.x", bytes_form},
      {R"({"$bytes": "00", "": 1})", R"($[""])", bytes_form},
      {R"({"$ext": 5})", "$", ext_form},
      {R"({"$ext": 5, "data": "00"})", "$.data", ext_form},
      {R"({"$ext": 5, "hex": "00", "x": 1})", "$.x", ext_form},
      {R"({"$ext": 128, "hex": "00"})", R"($["$ext"])", R"("$ext" takes an integer type from -128 to 127)"},
      {R"({"$ext": -129, "hex": "00"})", R"($["$ext"])", R"("$ext" takes an integer type from -128 to 127)"},
      {R"({"$ext": 1.0, "hex": "00"})", R"($["$ext"])", R"("$ext" takes an integer type from -128 to 127)"},
      {R"({"$ext": "5", "hex": "00"})", R"($["$ext"])", R"("$ext" takes an integer type from -128 to 127)"},
      {R"({"$ext": 18446744073709551615, "hex": "00"})", R"($["$ext"])",
       R"("$ext" takes an integer type from -128 to 127)"},
      {R"({"$ext": 5, "hex": "0"})", "$.hex", R"("hex" takes an even number of hex digits)"},
      {R"({"$ext": 5, "hex": 0})", "$.hex", R"("hex" takes a string of hex digits)"},
      {R"({"$map": {}})", R"($["$map"])", R"("$map" takes an array of [key, value] pairs)"},
      {R"({"$map": null})", R"($["$map"])", R"("$map" takes an array of [key, value] pairs)"},
      {R"({"$map": [1]})", R"($["$map"][0])", R"(a "$map" entry must be a [key, value] array)"},
      {R"({"$map": [[1]]})", R"($["$map"][0])", R"(a "$map" entry must be a [key, value] array)"},
      {R"({"$map": [[1, 2], [1, 2, 3]]})", R"($["$map"][1])", R"(a "$map" entry must be a [key, value] array)"},
      {R"({"$map": [], "x": 1})", "$.x", map_form},
  };
  for (const TagCase& c : cases) {
    EXPECT_TRUE(refused_as({c.json, c.path, c.problem, Argument::is_refused})) << c.json;
  }
}

TEST(TaggedInput, ErrorsInsideContainersPointAtTheForm) {
  EXPECT_TRUE(refused_as({R"([1, {"a": [{"$bytes": "x"}]}])", R"($[1].a[0]["$bytes"])",
                          R"("$bytes" takes an even number of hex digits)",
                          Argument::is_refused}));
}

TEST(TaggedInput, NothingIsPackedWhenTheTextIsRefused) {
  msgpack::sbuffer buffer;
  msgpack::packer<msgpack::sbuffer> packer(buffer);
  EXPECT_THROW(cli::json_to_msgpack(R"([1, 2, {"$bytes": "z"}])", packer), JsonError);
  EXPECT_THROW(cli::json_to_msgpack("[1, 2", packer), JsonError);
  EXPECT_EQ(buffer.size(), 0u);
}

// --- msgpack -> JSON ---------------------------------------------------------

TEST(MsgpackToJson, Scalars) {
  EXPECT_EQ(rendered("c0"), "null");
  EXPECT_EQ(rendered("c3"), "true");
  EXPECT_EQ(rendered("c2"), "false");
  EXPECT_EQ(rendered("00"), "0");
  EXPECT_EQ(rendered("ff"), "-1");
  EXPECT_EQ(rendered("cfffffffffffffffff"), "18446744073709551615");
  EXPECT_EQ(rendered("d38000000000000000"), "-9223372036854775808");
  EXPECT_EQ(rendered("cd0100"), "256");
  EXPECT_EQ(rendered("a0"), R"("")");
  EXPECT_EQ(rendered("d90141"), R"("A")");
  EXPECT_EQ(rendered("90"), "[]");
  EXPECT_EQ(rendered("80"), "{}");
}

TEST(MsgpackToJson, CompactContainers) {
  EXPECT_EQ(rendered(msgpack_c(std::make_tuple(1, std::string("a"), 1.5, msgpack::type::nil_t(), true,
                                               std::map<std::string, int>{{"k", -1}}))),
            R"([1,"a",1.5,null,true,{"k":-1}])");
  EXPECT_EQ(rendered("82a162 01 a161 92c2c0"), R"({"b":1,"a":[false,null]})");
}

TEST(MsgpackToJson, StringEscapes) {
  EXPECT_EQ(rendered(msgpack_c(std::string("\"\\/\b\f\n\r\t"))), R"("\"\\/\b\f\n\r\t")");
  EXPECT_EQ(rendered(msgpack_c(std::string("\x01\x1f\x7f", 3))), "\"\\u0001\\u001f\x7f\"");
  EXPECT_EQ(rendered(msgpack_c(std::string("a\0b", 3))), R"("a\u0000b")");
  EXPECT_EQ(rendered(msgpack_c(std::string("\x1b[0m"))), R"("\u001b[0m")");
  EXPECT_EQ(rendered(msgpack_c(std::string("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"))),
            "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
  EXPECT_EQ(rendered(msgpack_c(std::string("\xe2\x80\xa8"))), "\"\xe2\x80\xa8\"");  // U+2028 is valid JSON
}

TEST(MsgpackToJson, StrThatIsNotUtf8IsWrittenAsBytes) {
  EXPECT_EQ(rendered("a1ff"), R"({"$bytes":"ff"})");
  EXPECT_EQ(rendered("a3" "61ff62"), R"({"$bytes":"61ff62"})");
  EXPECT_EQ(rendered("a2" "c0af"), R"({"$bytes":"c0af"})");          // overlong '/'
  EXPECT_EQ(rendered("a3" "e080af"), R"({"$bytes":"e080af"})");      // overlong, 3 bytes
  EXPECT_EQ(rendered("a3" "eda080"), R"({"$bytes":"eda080"})");      // UTF-16 surrogate
  EXPECT_EQ(rendered("a4" "f4908080"), R"({"$bytes":"f4908080"})");  // above U+10FFFF
  EXPECT_EQ(rendered("a2" "e282"), R"({"$bytes":"e282"})");          // truncated sequence
  EXPECT_EQ(rendered("a1" "80"), R"({"$bytes":"80"})");              // lone continuation byte
  EXPECT_EQ(rendered("a4" "f4 8f bf bf"), "\"\xf4\x8f\xbf\xbf\"");    // U+10FFFF is fine
  EXPECT_EQ(rendered("a3" "ed9fbf"), "\"\xed\x9f\xbf\"");            // U+D7FF is fine
}

TEST(MsgpackToJson, TaggedForms) {
  EXPECT_EQ(rendered("c40200ff"), R"({"$bytes":"00ff"})");
  EXPECT_EQ(rendered("c400"), R"({"$bytes":""})");
  EXPECT_EQ(rendered("c4 04 DEADBEEF"), R"({"$bytes":"deadbeef"})");
  EXPECT_EQ(rendered("d52a7879"), R"({"$ext":42,"hex":"7879"})");
  EXPECT_EQ(rendered("d480ab"), R"({"$ext":-128,"hex":"ab"})");
  EXPECT_EQ(rendered("c700ff"), R"({"$ext":-1,"hex":""})");
  EXPECT_EQ(rendered("c9 00000003 05 010203"), R"({"$ext":5,"hex":"010203"})");
}

TEST(MsgpackToJson, MapsThatAreNotPlainObjectsUseTheMapForm) {
  EXPECT_EQ(rendered(msgpack_c(std::map<int, int>{{1, 2}})), R"({"$map":[[1,2]]})");
  EXPECT_EQ(rendered("82 a16101 0102"), R"({"$map":[["a",1],[1,2]]})");       // one key is not a str
  EXPECT_EQ(rendered("81 c40161 01"), R"({"$map":[[{"$bytes":"61"},1]]})");   // a bin key
  EXPECT_EQ(rendered("81 a1ff 01"), R"({"$map":[[{"$bytes":"ff"},1]]})");     // a str key that is not UTF-8
  EXPECT_EQ(rendered("82 a16101 a16102"), R"({"$map":[["a",1],["a",2]]})");   // repeated keys
  EXPECT_EQ(rendered("81 9101 80"), R"({"$map":[[[1],{}]]})");
  // A first key spelling a tag would be read back as the tagged form.
  EXPECT_EQ(rendered("81 a6246279746573 a23030"), R"({"$map":[["$bytes","00"]]})");
  EXPECT_EQ(rendered("81 a4246d6170 90"), R"({"$map":[["$map",[]]]})");
  EXPECT_EQ(rendered("82 a424657874 05 a3686578 a23030"), R"({"$map":[["$ext",5],["hex","00"]]})");
  // Elsewhere, or with another spelling, it is an ordinary key.
  EXPECT_EQ(rendered("82 a178 01 a6246279746573 a23030"), R"({"x":1,"$bytes":"00"})");
  EXPECT_EQ(rendered("81 a6246f74686572 01"), R"({"$other":1})");
}

TEST(MsgpackToJson, FloatsRoundTripAndStayFloats) {
  EXPECT_EQ(cli::to_json(msgpack::object(1.5)), "1.5");
  EXPECT_EQ(cli::to_json(msgpack::object(1.0)), "1.0");
  EXPECT_EQ(cli::to_json(msgpack::object(-0.0)), "-0.0");
  EXPECT_EQ(cli::to_json(msgpack::object(0.0)), "0.0");
  EXPECT_EQ(cli::to_json(msgpack::object(0.1)), "0.1");
  EXPECT_EQ(cli::to_json(msgpack::object(1e21)), "1e+21");
  EXPECT_EQ(cli::to_json(msgpack::object(1e-7)), "1e-07");
  EXPECT_EQ(cli::to_json(msgpack::object(123456.0)), "123456.0");
  EXPECT_EQ(cli::to_json(msgpack::object(std::numeric_limits<double>::max())), "1.7976931348623157e+308");
  EXPECT_EQ(cli::to_json(msgpack::object(std::numeric_limits<double>::denorm_min())), "5e-324");
  EXPECT_EQ(rendered("ca3dcccccd"), "0.1");  // float32 0.1f, shortest as a float32
  EXPECT_EQ(rendered("ca3f800000"), "1.0");
  EXPECT_EQ(rendered("ca80000000"), "-0.0");
}

TEST(MsgpackToJson, NanAndInfinityAreNull) {
  EXPECT_EQ(rendered("cb7ff8000000000000"), "null");
  EXPECT_EQ(rendered("cb7ff0000000000000"), "null");
  EXPECT_EQ(rendered("cbfff0000000000000"), "null");
  EXPECT_EQ(rendered("ca7fc00000"), "null");
  EXPECT_EQ(rendered("ca7f800000"), "null");
  EXPECT_EQ(rendered("92 cb7ff8000000000000 01"), "[null,1]");
}

TEST(MsgpackToJson, DepthLimit) {
  EXPECT_EQ(rendered(nested_msgpack_arrays(64)), nested_json_arrays(64, "null"));
  EXPECT_EQ(rendered(nested_msgpack_arrays(64, "c40100")), nested_json_arrays(64, R"({"$bytes":"00"})"));
  EXPECT_THROW(rendered(nested_msgpack_arrays(65)), ConversionError);
  EXPECT_THROW(rendered(nested_msgpack_arrays(64, "80")), ConversionError);
  EXPECT_THROW(rendered(nested_msgpack_arrays(100000)), ConversionError);
  std::string maps;
  for (int i = 0; i < 65; ++i) maps += "81a0";
  EXPECT_THROW(rendered(maps + "c0"), ConversionError);
  try {
    rendered(nested_msgpack_arrays(65));
  } catch (const ConversionError& error) {
    EXPECT_STREQ(error.what(), "cannot render as JSON: arrays and maps nested deeper than 64 levels");
  }
}

// --- round trips -------------------------------------------------------------

TEST(RoundTrip, JsonComesBackInCanonicalForm) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"( [ 1 , "a" , 1.5 , null , true , { "k" : -1 } ] )", R"([1,"a",1.5,null,true,{"k":-1}])"},
      {"-0", "0"},
      {"-0.0", "-0.0"},
      {"1.50", "1.5"},
      {"1E2", "100.0"},
      {"1e-7", "1e-07"},
      {"18446744073709551615", "18446744073709551615"},
      {"18446744073709551616", "1.8446744073709552e+19"},
      {"-9223372036854775808", "-9223372036854775808"},
      {"-9223372036854775809", "-9.223372036854776e+18"},
      {"0.1", "0.1"},
      {"1e-400", "0.0"},
      {R"("\u0041\/\u00e9")", "\"A/\xc3\xa9\""},
      {R"("\ud83d\ude00")", "\"\xf0\x9f\x98\x80\""},
      {R"("\u001F\u007f")", "\"\\u001f\x7f\""},
      {R"({"$bytes": "00FF"})", R"({"$bytes":"00ff"})"},
      {R"({"$ext": 5, "hex": "AB"})", R"({"$ext":5,"hex":"ab"})"},
      {R"({"$map": [["a", 1], ["b", 2]]})", R"({"a":1,"b":2})"},
      {R"({"$map": [[1, 2]]})", R"({"$map":[[1,2]]})"},
      {R"({"$map": [["$bytes", "00"]]})", R"({"$map":[["$bytes","00"]]})"},
      {R"({"$map": []})", "{}"},
      {R"({"x": {"$map": [[[1], [2]]]}})", R"({"x":{"$map":[[[1],[2]]]}})"},
      {R"({"$other": {"$bytes": ""}})", R"({"$other":{"$bytes":""}})"},
  };
  for (const auto& [json, expected] : cases) {
    EXPECT_EQ(canonical(json), expected) << json;
    EXPECT_EQ(canonical(expected), expected) << "canonical form is stable: " << expected;
  }
}

TEST(RoundTrip, MsgpackThroughJsonIsByteExact) {
  const std::vector<std::string> bodies = {
      "93a361646492010280",                                  // ["add", [1, 2], {}]
      "93a5677265657491a3626f6281a86772656574696e67a24869",  // greet("bob", greeting="Hi")
      "82a474657874a848692c20626f6221a5657874726180",        // {"text": "Hi, bob!", "extra": {}}
      "93a46563686f91c40200ff80",                            // ["echo", [b"\x00\xff"], {}]
      "92c4046a6f686ec40773336372657421",                    // HELLO [b"john", b"s3cret!"]
      "d52a7879",
      "c700ff",
      "c7037f010203",
      "d801000102030405060708090a0b0c0d0e0f",
      "cfffffffffffffffff",
      "d38000000000000000",
      "cb3ff0000000000000",
      "cb8000000000000000",
      "cb7fefffffffffffff",
      "cb0000000000000001",
      "81 01 02",
      "82 a16101 a16102",
      "81 a6246279746573 a23030",
      "81 c0 c3",
      "81 81a0c0 91c40100",
  };
  for (const std::string& body : bodies) {
    EXPECT_EQ(packed(rendered(body)), compact(body)) << rendered(body);
  }
}

TEST(RoundTrip, DeepestValuesSurviveBothWays) {
  // 64 arrays around a bin leaf: its JSON is 65 deep, yet it parses back.
  const std::vector<std::string> deepest = {nested_msgpack_arrays(64, "c40100"), nested_msgpack_arrays(63, "810102"),
                                            nested_msgpack_arrays(63, "81c0c0"), nested_msgpack_arrays(64, "d40100")};
  for (const std::string& hex : deepest) {
    EXPECT_EQ(packed(rendered(hex)), hex) << hex;
  }
  // 64 maps with non-str keys: 192 levels of JSON.
  std::string hex;
  for (int i = 0; i < 64; ++i) hex += "8101";
  hex += "c0";
  EXPECT_EQ(packed(rendered(hex)), hex);
}

// Random msgpack values (minimal encodings, UTF-8 strs, finite float64)
// render as JSON that packs back to the same bytes.
class RandomValue {
 public:
  explicit RandomValue(std::uint32_t seed) : random_(seed) {}

  void pack(msgpack::packer<msgpack::sbuffer>& out, int depth) {
    switch (pick(depth >= 4 ? 8 : 10)) {
      case 0: out.pack_nil(); break;
      case 1: out.pack(pick(2) == 1); break;
      case 2: out.pack(static_cast<std::int64_t>(random_()) >> pick(64)); break;
      case 3: out.pack(static_cast<std::uint64_t>(random_()) >> pick(64)); break;
      case 4: {
        double value = 0;
        do {
          const std::uint64_t bits = random_();
          std::memcpy(&value, &bits, sizeof value);
        } while (!std::isfinite(value));
        const std::string bytes = hex_decode(float64(value));  // a float64 even when integral
        out.pack_bin_body(bytes.data(), static_cast<std::uint32_t>(bytes.size()));
        break;
      }
      case 5: {
        const std::string text = utf8_text();
        out.pack(text);
        break;
      }
      case 6: {
        const std::string bytes = raw_bytes();
        out.pack_bin(static_cast<std::uint32_t>(bytes.size()));
        out.pack_bin_body(bytes.data(), static_cast<std::uint32_t>(bytes.size()));
        break;
      }
      case 7: {
        const std::string bytes = raw_bytes();
        out.pack_ext(bytes.size(), static_cast<std::int8_t>(pick(256)));
        out.pack_ext_body(bytes.data(), static_cast<std::uint32_t>(bytes.size()));
        break;
      }
      case 8: {
        const auto size = static_cast<std::uint32_t>(pick(5));
        out.pack_array(size);
        for (std::uint32_t i = 0; i < size; ++i) pack(out, depth + 1);
        break;
      }
      default: {
        const auto size = static_cast<std::uint32_t>(pick(5));
        out.pack_map(size);
        for (std::uint32_t i = 0; i < size; ++i) {
          if (pick(2) == 0) {
            const std::string key = pick(4) == 0 ? "$map" : utf8_text();
            out.pack(key);
          } else {
            pack(out, depth + 1);
          }
          pack(out, depth + 1);
        }
      }
    }
  }

 private:
  std::mt19937_64 random_;

  std::uint64_t pick(std::uint64_t n) { return random_() % n; }

  std::string utf8_text() {
    static const std::vector<std::string> pieces = {"a", "Z", "$", "\"", "\\", "/", "\n", "\t", std::string(1, '\0'),
                                                    "\x1f", "\x7f", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
                                                    "\xed\x9f\xbf", "\xee\x80\x80", "\xf4\x8f\xbf\xbf"};
    std::string text;
    for (std::uint64_t n = pick(6); n > 0; --n) text += pieces[pick(pieces.size())];
    return text;
  }

  std::string raw_bytes() {
    std::string bytes;
    for (std::uint64_t n = pick(20); n > 0; --n) bytes += static_cast<char>(pick(256));
    return bytes;
  }
};

TEST(RoundTrip, RandomValuesPackBackToTheSameBytes) {
  RandomValue generator(20240601);
  for (int i = 0; i < 2000; ++i) {
    msgpack::sbuffer buffer;
    msgpack::packer<msgpack::sbuffer> packer(buffer);
    generator.pack(packer, 0);
    const std::string hex = hex_encode({buffer.data(), buffer.size()});
    const std::string json = rendered(hex);
    ASSERT_EQ(packed(json), hex) << json;
    ASSERT_EQ(json.find('\n'), std::string::npos);
  }
}

// --- strict parsing ----------------------------------------------------------

TEST(JsonErrors, MessageNamesTheByteAndWhatWasExpected) {
  try {
    cli::parse_json(R"({"a": 1 "b": 2})");
    FAIL() << "accepted";
  } catch (const JsonError& error) {
    ASSERT_TRUE(error.offset());
    EXPECT_EQ(*error.offset(), 10u);  // nlohmann read up to the closing quote of "b"
    EXPECT_EQ(error.path(), "");
    EXPECT_STREQ(error.what(), "invalid JSON at byte 10: syntax error while parsing object - unexpected string "
                               "literal; expected '}'");
  }
  // JsonError is the library's usage error.
  EXPECT_THROW(cli::parse_json("["), UsageError);
  EXPECT_THROW(cli::parse_json("["), pseud::Error);
}

// The problems are nlohmann-json's words, and the byte is nlohmann's: the
// last one it read. A token its lexer could not read is refused at the byte
// where reading failed, and quoted ("last read"); a token the grammar did
// not expect, at its last byte (the end of the text counts as one byte).
TEST(JsonErrors, GrammarViolations) {
  const auto string = Argument::becomes_string;
  const std::string a_value = "syntax error while parsing value - unexpected end of input; expected '[', '{', or a literal";
  const std::string the_end = "; expected end of input";
  const std::string leading_zero = "syntax error while parsing value - unexpected number literal; expected end of input "
                                   "(a number cannot start with 0 and go on with digits)";
  const auto literal = [](const std::string& last_read, const std::string& expected = "") {
    return "syntax error while parsing value - invalid literal; last read: '" + last_read + "'" + expected;
  };
  const auto in_string = [](const std::string& problem, const std::string& last_read) {
    return "syntax error while parsing value - invalid string: " + problem + "; last read: '" + last_read + "'";
  };
  const auto in_number = [](const std::string& problem, const std::string& last_read) {
    return "syntax error while parsing value - invalid number; " + problem + "; last read: '" + last_read + "'";
  };
  const std::string nul = R"(a NUL byte (JSON text has none; in a string it is written \u0000))";
  const std::vector<Refusal> cases = {
      // empty and truncated
      {"", 0, a_value, string},
      {"   ", 3, a_value, string},
      {"[", 1, a_value, string},
      {"[1, 2", 5, "syntax error while parsing array - unexpected end of input; expected ']'", string},
      {R"({"a": 1)", 7, "syntax error while parsing object - unexpected end of input; expected '}'", string},
      {R"({"a")", 4, "syntax error while parsing object separator - unexpected end of input; expected ':'", string},
      {R"({"a":)", 5, a_value, string},
      {R"("abc)", 4, in_string("missing closing quote", R"("abc)"), string},
      {R"("abc\)", 5, in_string("forbidden character after backslash", R"("abc\)"), string},
      {"tru", 3, literal("tru"), string},
      {"nul", 3, literal("nul"), string},
      // trailing commas, missing separators
      {"[1,]", 3, "syntax error while parsing value - unexpected ']'; expected '[', '{', or a literal", string},
      {"[1,,2]", 3, "syntax error while parsing value - unexpected ','; expected '[', '{', or a literal", string},
      {"[,1]", 1, "syntax error while parsing value - unexpected ','; expected '[', '{', or a literal", string},
      {R"({"a": 1,})", 8, "syntax error while parsing object key - unexpected '}'; expected string literal", string},
      {"[1 2]", 3, "syntax error while parsing array - unexpected number literal; expected ']'", string},
      {R"({"a" 1})", 5, "syntax error while parsing object separator - unexpected number literal; expected ':'", string},
      {R"({"a": 1 "b": 2})", 10, "syntax error while parsing object - unexpected string literal; expected '}'", string},
      {"[1}", 2, "syntax error while parsing array - unexpected '}'; expected ']'", string},
      {"[1 234]", 5, "syntax error while parsing array - unexpected number literal; expected ']'", string},
      {"[1 true]", 6, "syntax error while parsing array - unexpected true literal; expected ']'", string},
      {"{1: 2}", 1, "syntax error while parsing object key - unexpected number literal; expected string literal", string},
      {"{a: 2}", 1, "syntax error while parsing object key - invalid literal; last read: '{a'; expected string literal",
       string},
      // not JSON at all
      {"'x'", 0, literal("'"), string},
      {R"({'a': 1})", 1, "syntax error while parsing object key - invalid literal; last read: '{''; expected string literal",
       string},
      {"hello", 0, literal("h"), string},
      {"True", 0, literal("T"), string},
      {"None", 0, literal("N"), string},
      {"NaN", 0, literal("N"), string},
      {"Infinity", 0, literal("I"), string},
      {"-Infinity", 1, in_number("expected digit after '-'", "-I"), string},
      {"[1] // comment", 4, literal("1] /", the_end), string},
      {"/* c */ 1", 0, literal("/"), string},
      {"\xef\xbb\xbf" "1", 0, "a byte order mark (the text must start with its value)", string},
      // numbers
      {"01", 1, leading_zero, string},
      {"-01", 2, leading_zero, string},
      {"00", 1, leading_zero, string},
      {"0123", 3, leading_zero, string},
      {"0-1", 2, "syntax error while parsing value - unexpected number literal; expected end of input", string},
      {"[007]", 2,
       "syntax error while parsing array - unexpected number literal; expected ']' "
       "(a number cannot start with 0 and go on with digits)",
       string},
      {"+1", 0, literal("+"), string},
      {"-", 1, in_number("expected digit after '-'", "-"), string},
      {".5", 0, literal("."), string},
      {"1.", 2, in_number("expected digit after '.'", "1."), string},
      {"1.e5", 2, in_number("expected digit after '.'", "1.e"), string},
      {"1e", 2, in_number("expected '+', '-', or digit after exponent", "1e"), string},
      {"1e+", 3, in_number("expected digit after exponent sign", "1e+"), string},
      {"0x10", 1, literal("0x", the_end), string},
      {"1.5.3", 3, literal("1.5.", the_end), string},
      {"1_000", 1, literal("1_", the_end), string},
      // trailing garbage
      {"1 2", 2, "syntax error while parsing value - unexpected number literal; expected end of input", string},
      {"{}x", 2, literal("{}x", the_end), string},
      {"[]]", 2, "syntax error while parsing value - unexpected ']'; expected end of input", string},
      {"truex", 4, literal("truex", the_end), string},
      {std::string("null\0", 5), 4, nul, string},
      // strings
      {R"("\x41")", 2, in_string("forbidden character after backslash", R"("\x)"), string},
      {R"("\a")", 2, in_string("forbidden character after backslash", R"("\a)"), string},
      {R"("\U0041")", 2, in_string("forbidden character after backslash", R"("\U)"), string},
      {R"("\u12")", 5, in_string(R"('\u' must be followed by 4 hex digits)", R"("\u12")"), string},
      {R"("\u12g4")", 5, in_string(R"('\u' must be followed by 4 hex digits)", R"("\u12g)"), string},
      {"\"a\x01\"", 2, in_string(R"(control character U+0001 (SOH) must be escaped to \u0001)", R"("a<U+0001>)"),
       string},
      {"\"line\nbreak\"", 5,
       in_string(R"(control character U+000A (LF) must be escaped to \u000A or \n)", R"("line<U+000A>)"), string},
      {"\"tab\there\"", 4,
       in_string(R"(control character U+0009 (HT) must be escaped to \u0009 or \t)", R"("tab<U+0009>)"), string},
      {std::string("\"a\0\"", 4), 2, nul, string},
  };
  for (const Refusal& c : cases) {
    EXPECT_TRUE(refused_as(c)) << c.json;
  }
}

TEST(JsonErrors, InvalidUtf8InStrings) {
  const std::vector<std::string> texts = {"\"\xff\"",         "\"a\xc0\xaf\"", "\"\xed\xa0\x80\"",
                                         "\"\xf4\x90\x80\x80\"", "\"\xe2\x82\"",    "\"\x80\""};
  for (const std::string& json : texts) {
    EXPECT_THROW(cli::parse_json(json), JsonError) << hex_encode(json);
    // Not UTF-8 cannot become a str argument either.
    EXPECT_THROW(cli::parse_argument(json), JsonError) << hex_encode(json);
  }
  try {
    cli::parse_json("\"ab\xff\"");
  } catch (const JsonError& error) {
    // The byte that is not UTF-8 is quoted as U+FFFD: the message itself is UTF-8.
    EXPECT_STREQ(error.what(), "invalid JSON at byte 3: syntax error while parsing value - invalid string: "
                               "ill-formed UTF-8 byte; last read: '\"ab\xef\xbf\xbd'");
  }
}

TEST(JsonErrors, LongTokensAreQuotedByTheirEnd) {
  const std::string text = "\"" + std::string(100000, 'x') + "\x01\"";
  try {
    cli::parse_json(text);
    FAIL() << "accepted";
  } catch (const JsonError& error) {
    ASSERT_TRUE(error.offset());
    EXPECT_EQ(*error.offset(), 100001u);
    EXPECT_STREQ(error.what(), "invalid JSON at byte 100001: syntax error while parsing value - invalid string: "
                               "control character U+0001 (SOH) must be escaped to \\u0001; last read: "
                               "'...xxxxxxxxxxxxxxxx<U+0001>'");
  }
}

// Lone surrogates are JSON by the grammar, but no UTF-8 text: refused, also
// as arguments. They are refused where nlohmann's lexer finds the escape
// that should have completed the pair missing.
TEST(JsonErrors, LoneSurrogates) {
  const auto high = [](const std::string& last_read) {
    return "syntax error while parsing value - invalid string: surrogate U+D800..U+DBFF must be followed by "
           "U+DC00..U+DFFF; last read: '" + last_read + "'";
  };
  const auto low = [](const std::string& last_read) {
    return "syntax error while parsing value - invalid string: surrogate U+DC00..U+DFFF must follow U+D800..U+DBFF; "
           "last read: '" + last_read + "'";
  };
  const auto refused = Argument::is_refused;
  EXPECT_TRUE(refused_as({R"("\ud800")", 7, high(R"("\ud800")"), refused}));
  EXPECT_TRUE(refused_as({R"("ab\uDBFF")", 9, high(R"("ab\uDBFF")"), refused}));
  EXPECT_TRUE(refused_as({R"("\ud800x")", 7, high(R"("\ud800x)"), refused}));
  EXPECT_TRUE(refused_as({R"("\ud800\n")", 8, high(R"("\ud800\n)"), refused}));
  EXPECT_TRUE(refused_as({R"("\ud800\u0041")", 12, high(R"("\ud800\u0041)"), refused}));
  EXPECT_TRUE(refused_as({R"("\ud800\ud800")", 12, high(R"("\ud800\ud800)"), refused}));
  EXPECT_TRUE(refused_as({R"("\udc00")", 6, low(R"("\udc00)"), refused}));
  EXPECT_TRUE(refused_as({R"("\ude00\ud83d")", 6, low(R"("\ude00)"), refused}));
}

TEST(JsonErrors, DuplicateKeys) {
  EXPECT_TRUE(refused_as({R"({"a": 1, "a": 2})", "$.a",
                          R"(duplicate key "a" (a map with repeated keys is written as "$map"))",
                          Argument::is_refused}));
  EXPECT_TRUE(refused_as({R"({"a": {"x\n": 1, "x\u000a": 2}})", R"($.a["x\n"])",
                          R"(duplicate key "x\n" (a map with repeated keys is written as "$map"))",
                          Argument::is_refused}));
  EXPECT_TRUE(refused_as({R"({"func": "f", "args": [0, 1, {"b": 1, "c": [], "b": 2}]})", "$.args[2].b",
                          R"(duplicate key "b" (a map with repeated keys is written as "$map"))",
                          Argument::is_refused}));
  // Equal keys in different objects are fine.
  EXPECT_EQ(packed(R"([{"a": 1}, {"a": 2}])"), "92" "81a16101" "81a16102");
}

TEST(JsonErrors, NumbersBeyondFloat64) {
  const std::string problem = "number beyond the range of float64";
  const std::vector<std::string> texts = {"1e400",    "-1e400",          "1.7976931348623159e308",
                                         "1000e306", "1e999999999999999999", std::string(400, '9'),
                                         "0.001e312", "1" + std::string(400, '0') + ".5e-50"};
  for (const std::string& json : texts) {
    EXPECT_TRUE(refused_as({json, "$", problem, Argument::is_refused})) << json;
  }
  EXPECT_TRUE(refused_as({"[1, 2e999]", "$[1]", problem, Argument::is_refused}));
  EXPECT_TRUE(refused_as({R"({"a": [[], {"b": 1e400}]})", "$.a[1].b", problem, Argument::is_refused}));
}

// A rule of the codec is broken at a value, named by its JSON path: ".name"
// for a member named by a plain identifier, ["name"] for any other, [i] for
// an element.
TEST(JsonErrors, PathsNameMembersAndElements) {
  const std::string problem = R"(duplicate key "k" (a map with repeated keys is written as "$map"))";
  const auto refused = Argument::is_refused;
  EXPECT_TRUE(refused_as({R"({"k": 1, "k": 2})", "$.k", problem, refused}));
  EXPECT_TRUE(refused_as({R"({"_a9": {"k": 1, "k": 2}})", "$._a9.k", problem, refused}));
  EXPECT_TRUE(refused_as({R"({"na me": {"k": 1, "k": 2}})", R"($["na me"].k)", problem, refused}));
  EXPECT_TRUE(refused_as({R"({"9a": {"k": 1, "k": 2}})", R"($["9a"].k)", problem, refused}));
  EXPECT_TRUE(refused_as({R"({"": {"k": 1, "k": 2}})", R"($[""].k)", problem, refused}));
  EXPECT_TRUE(refused_as({R"({"$x": {"k": 1, "k": 2}})", R"($["$x"].k)", problem, refused}));
  EXPECT_TRUE(refused_as({"{\"caf\xc3\xa9\": {\"k\": 1, \"k\": 2}}", "$[\"caf\xc3\xa9\"].k", problem, refused}));
  EXPECT_TRUE(refused_as({R"({"a\"b": {"k": 1, "k": 2}})", R"($["a\"b"].k)", problem, refused}));
  EXPECT_TRUE(refused_as({R"([[], [0, {"k": 1, "k": 2}]])", "$[1][1].k", problem, refused}));
  // Values already read and the keys of other members do not count.
  EXPECT_TRUE(refused_as({R"({"a": [1], "b": {"c": {}, "k": 1, "k": 2}})", "$.b.k", problem, refused}));
}

TEST(JsonErrors, DepthLimitIsExactAndCountedInMsgpack) {
  const std::string problem = "arrays and maps nested deeper than 64 levels";
  const auto refused = Argument::is_refused;
  EXPECT_EQ(packed(nested_json_arrays(64)), nested_msgpack_arrays(63, "90"));
  const std::string the_65th_array = "$" + repeated("[0]", 64);
  EXPECT_TRUE(refused_as({nested_json_arrays(65), the_65th_array, problem, refused}));
  EXPECT_TRUE(refused_as({nested_json_arrays(100000), the_65th_array, problem, refused}));
  std::string objects;
  for (int i = 0; i < 64; ++i) objects += R"({"":)";
  EXPECT_NO_THROW(cli::parse_json(objects + "1" + std::string(64, '}')));
  const std::string the_65th_object = "$" + repeated(R"([""])", 64);
  EXPECT_TRUE(refused_as({objects + "{}" + std::string(65, '}'), the_65th_object, problem, refused}));
  EXPECT_TRUE(refused_as({objects + "[]" + std::string(64, '}'), the_65th_object, problem, refused}));
  // Leaf tagged forms do not add a level; the wrappers of "$map" do not either.
  EXPECT_EQ(packed(nested_json_arrays(64, R"({"$bytes": "00"})")), nested_msgpack_arrays(64, "c40100"));
  EXPECT_EQ(packed(nested_json_arrays(64, R"({"$ext": 1, "hex": "00"})")), nested_msgpack_arrays(64, "d40100"));
  EXPECT_EQ(packed(nested_json_arrays(63, R"({"$map": [[1, 2]]})")), nested_msgpack_arrays(63, "810102"));
  EXPECT_TRUE(refused_as({nested_json_arrays(64, R"({"$map": []})"), the_65th_array, problem, refused}));
  EXPECT_TRUE(refused_as({nested_json_arrays(64, R"({"$bytes": [1]})"), the_65th_array + R"(["$bytes"])", problem,
                          refused}));
  EXPECT_TRUE(refused_as({nested_json_arrays(63, R"({"$map": [[[], 2]]})"),
                          "$" + repeated("[0]", 63) + R"(["$map"][0][0])", problem, refused}));
  // 64 maps, each the value of the only entry of the one around it.
  std::string maps;
  std::string closing;
  for (int i = 0; i < 64; ++i) {
    maps += R"({"$map": [[1, )";
    closing += "]]}";
  }
  std::string expected_hex;
  for (int i = 0; i < 64; ++i) expected_hex += "8101";
  EXPECT_EQ(packed(maps + "null" + closing), expected_hex + "c0");
  const std::string the_65th_map = "$" + repeated(R"(["$map"][0][1])", 64);
  EXPECT_TRUE(refused_as({maps + R"({"$map": [[1, 2]]})" + closing, the_65th_map, problem, refused}));
  EXPECT_TRUE(refused_as({maps + "[]" + closing, the_65th_map, problem, refused}));
}

// Hostile nesting stops at the limit: nlohmann's parser keeps its state on
// the heap and the codec refuses the 65th level as it opens, so neither the
// stack nor the memory grows with the text.
TEST(JsonErrors, AMegabyteOfOpeningBracketsIsRefusedAtOnce) {
  const std::string problem = "arrays and maps nested deeper than 64 levels";
  const auto refused = Argument::is_refused;
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(refused_as({std::string(1 << 20, '['), "$" + repeated("[0]", 64), problem, refused}));
  std::string objects;
  for (int i = 0; i < 200000; ++i) objects += R"({"a":)";
  // The 66th object: the 65th may still be a leaf tag.
  EXPECT_TRUE(refused_as({objects, "$" + repeated(".a", 65), problem, refused}));
  std::string maps;
  for (int i = 0; i < 100000; ++i) maps += R"({"$map":[[1,)";
  EXPECT_TRUE(refused_as({maps, "$" + repeated(R"(["$map"][0][1])", 65), problem, refused}));
  const auto took = std::chrono::steady_clock::now() - start;
  std::printf("[figure] 1 MiB of '[', 1 MB of '{\"a\":' and 1.2 MB of '{\"$map\":[[1,' refused in %lld ms in all\n",
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(took).count()));
  EXPECT_LT(took, std::chrono::seconds(2));  // milliseconds are expected: the texts are read up to the 65th level
}

// --- the argument rule -------------------------------------------------------

TEST(ParseArgument, JsonIsParsed) {
  const msgpack::object_handle number = cli::parse_argument("42");
  EXPECT_EQ(number.get().type, msgpack::type::POSITIVE_INTEGER);
  EXPECT_EQ(number.get().via.u64, 42u);
  EXPECT_EQ(cli::parse_argument("-7").get().via.i64, -7);
  EXPECT_EQ(cli::parse_argument("true").get().type, msgpack::type::BOOLEAN);
  EXPECT_EQ(cli::parse_argument("null").get().type, msgpack::type::NIL);
  EXPECT_EQ(cli::parse_argument("1.5").get().via.f64, 1.5);
  EXPECT_EQ(cli::parse_argument(" 42 ").get().via.u64, 42u);
  EXPECT_EQ(argument_string(R"("quoted")"), "quoted");
  EXPECT_EQ(argument_string(R"("42")"), "42");
  EXPECT_EQ(cli::to_json(cli::parse_argument(R"({"a": [1, {"$bytes": "00"}]})").get()),
            R"({"a":[1,{"$bytes":"00"}]})");
}

TEST(ParseArgument, TextThatIsNotJsonIsAString) {
  const std::vector<std::string> texts = {"hello", "hello world", "[1,2", "", " ", "01234", "-", "1.", "NaN", "'x'",
                                         "{a: 1}", "[1,]", "C:\\path", "caf\xc3\xa9", "\"unterminated", "tru", "1 2",
                                         "x\ny"};
  for (const std::string& text : texts) {
    EXPECT_EQ(argument_string(text), text) << text;
  }
}

TEST(ParseArgument, JsonThatBreaksTheMappingIsAnError) {
  const std::vector<std::string> texts = {R"({"$bytes": "zz"})", R"({"$ext": 999, "hex": ""})", R"({"a": 1, "a": 2})",
                                         R"("\ud800")", "1e400", nested_json_arrays(65)};
  for (const std::string& text : texts) {
    EXPECT_THROW(cli::parse_argument(text), JsonError) << text;
  }
}

TEST(ParseArgument, TextThatIsNotUtf8IsAnError) {
  try {
    cli::parse_argument("ab\xff");
    FAIL() << "accepted";
  } catch (const JsonError& error) {
    ASSERT_TRUE(error.offset());
    EXPECT_EQ(*error.offset(), 2u);
    EXPECT_STREQ(error.what(),
                 R"(invalid JSON at byte 2: the argument is not UTF-8 text (pass bytes as {"$bytes": "HEX"}))");
  }
}

}  // namespace
}  // namespace pseud::test
