// msgpack bodies: the structural pre-scan (truncation, invalid bytes,
// allocation bombs, depth), unpack_body, and the WORK / ERROR / HELLO codecs.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <gtest/gtest.h>

#include "test_support.hpp"
#include "wire/bodies.hpp"
#include "wire/msgpack_scan.hpp"

namespace pseud::test {
namespace {

using wire::BodyError;

// Real bodies from the captures, plus one of every msgpack family.
const std::vector<std::string> valid_bodies = {
    hex_decode("03"),
    hex_decode("93a361646492010280"),                                  // ["add", [1, 2], {}]
    hex_decode("93a5677265657491a3626f6281a86772656574696e67a24869"),  // greet("bob", greeting="Hi")
    hex_decode("82a474657874a848692c20626f6221a5657874726180"),        // {"text": "Hi, bob!", "extra": {}}
    hex_decode("93a46563686f91c40200ff80"),                            // ["echo", [b"\x00\xff"], {}]
    hex_decode("92c4046a6f686ec40773336372657421"),                    // HELLO [b"john", b"s3cret!"]
    hex_decode("d52a7879"),                                            // ext 42
    hex_decode("c0"), hex_decode("c2"), hex_decode("c3"), hex_decode("e0"), hex_decode("7f"),
    hex_decode("cc80"), hex_decode("cd0100"), hex_decode("ce00010000"), hex_decode("cfffffffffffffffff"),
    hex_decode("d080"), hex_decode("d18000"), hex_decode("d280000000"), hex_decode("d38000000000000000"),
    hex_decode("ca3f800000"), hex_decode("cb3ff0000000000000"),
    hex_decode("a0"), hex_decode("d90141"), hex_decode("da000141"), hex_decode("db0000000141"),
    hex_decode("c40100"), hex_decode("c5000100"), hex_decode("c60000000100"),
    hex_decode("d40100"), hex_decode("d6010a0b0c0d"), hex_decode("d701" "0102030405060708"),
    hex_decode("d801" "000102030405060708090a0b0c0d0e0f"),
    hex_decode("c700ff"), hex_decode("c702050102"), hex_decode("c80001050a"), hex_decode("c90000000105ff"),
    hex_decode("90"), hex_decode("80"), hex_decode("dc0001c0"), hex_decode("dd00000001c0"),
    hex_decode("de0001a16101"), hex_decode("df00000001a16101"),
    hex_decode("93aa56616c75654572726f72a46f6f7073da0003616263"),  // ERROR with a str16 traceback
};

std::string nested_arrays(std::size_t depth) { return std::string(depth, '\x91') + '\xc0'; }

::testing::AssertionResult body_refused(const std::variant<msgpack::object_handle, BodyError>& result,
                                        BodyError expected) {
  if (std::holds_alternative<msgpack::object_handle>(result)) return ::testing::AssertionFailure() << "accepted";
  const BodyError got = std::get<BodyError>(result);
  if (got != expected) {
    return ::testing::AssertionFailure() << "refused with \"" << wire::body_error_text(got) << "\", expected \""
                                         << wire::body_error_text(expected) << "\"";
  }
  return ::testing::AssertionSuccess();
}

// Both entry points must agree on every refusal.
void expect_refused(std::string_view bytes, BodyError expected) {
  EXPECT_EQ(wire::scan_msgpack(bytes), std::optional{expected}) << hex_encode(bytes.substr(0, 32));
  EXPECT_TRUE(body_refused(wire::unpack_body(bytes), expected)) << hex_encode(bytes.substr(0, 32));
}

::testing::AssertionResult accepted(std::string_view bytes) {
  auto result = wire::unpack_body(bytes);
  if (auto* error = std::get_if<BodyError>(&result)) {
    return ::testing::AssertionFailure() << "refused: " << wire::body_error_text(*error);
  }
  return ::testing::AssertionSuccess();
}

msgpack::object_handle unpacked(std::string_view bytes) {
  auto result = wire::unpack_body(bytes);
  if (auto* error = std::get_if<BodyError>(&result)) {
    ADD_FAILURE() << "refused: " << wire::body_error_text(*error) << " for " << hex_encode(bytes);
    return msgpack::object_handle();
  }
  return std::move(std::get<msgpack::object_handle>(result));
}

// --- scan_msgpack ---

TEST(ScanMsgpack, AcceptsValidBodies) {
  for (const std::string& body : valid_bodies) {
    EXPECT_EQ(wire::scan_msgpack(body), std::nullopt) << hex_encode(body);
  }
}

TEST(ScanMsgpack, EmptyInput) { expect_refused("", BodyError::empty); }

TEST(ScanMsgpack, EveryStrictPrefixIsTruncated) {
  for (const std::string& body : valid_bodies) {
    for (std::size_t n = 1; n < body.size(); ++n) {
      expect_refused(std::string_view(body).substr(0, n), BodyError::truncated);
    }
  }
}

TEST(ScanMsgpack, InvalidByte) {
  expect_refused("\xc1", BodyError::invalid_byte);
  expect_refused("\x91\xc1", BodyError::invalid_byte);
  expect_refused("\x81\xc1\x01", BodyError::invalid_byte);  // as a map key
  expect_refused("\x93\xa3" "add\x92\x01\xc1\x80", BodyError::invalid_byte);
}

TEST(ScanMsgpack, InvalidByteInsideAPayloadIsData) {
  // c1 as the content of a str, bin or ext is just a byte.
  for (const char* hex : {"a1c1", "c401c1", "d401c1", "92a1c1c0"}) {
    EXPECT_EQ(wire::scan_msgpack(hex_decode(hex)), std::nullopt) << hex;
  }
}

TEST(ScanMsgpack, TrailingBytes) {
  expect_refused("\x03\x03", BodyError::trailing_bytes);
  expect_refused(hex_decode("9000"), BodyError::trailing_bytes);
  expect_refused(hex_decode("93a36164649201028000"), BodyError::trailing_bytes);
  expect_refused(std::string("\xc0\xc1", 2), BodyError::trailing_bytes);
}

TEST(ScanMsgpack, AllocationBombs) {
  // Each declares far more than the bytes that follow; msgpack-c would reserve first.
  for (const char* hex : {
           "ddffffffff",        // array32 of 4 Gi elements
           "dfffffffff",        // map32 of 4 Gi pairs
           "dbffffffff",        // str32 of 4 GiB
           "c6ffffffff",        // bin32 of 4 GiB
           "c9ffffffff01",      // ext32 of 4 GiB
           "dcffff",            // array16 of 65535
           "deffff",            // map16 of 65535 pairs
           "ddffffffffc0c0c0",  // a few honest bytes do not help
       }) {
    expect_refused(hex_decode(hex), BodyError::truncated);
  }
}

TEST(ScanMsgpack, CountsAreCheckedAgainstRemainingBytes) {
  // 2 elements need at least 2 bytes; a map of 1 pair needs 2.
  expect_refused(hex_decode("dc0002c0"), BodyError::truncated);
  expect_refused(hex_decode("de0001c0"), BodyError::truncated);
  expect_refused(hex_decode("df00000001c0"), BodyError::truncated);
}

TEST(ScanMsgpack, NestedArray16Bombs) {
  std::string bomb;
  for (int i = 0; i < 64; ++i) bomb += "\xdc\xff\xff";
  expect_refused(bomb, BodyError::truncated);
}

TEST(ScanMsgpack, DepthLimitIsExact) {
  ASSERT_EQ(wire::max_body_depth, 64u);
  EXPECT_EQ(wire::scan_msgpack(nested_arrays(64)), std::nullopt);
  EXPECT_TRUE(accepted(nested_arrays(64)));
  expect_refused(nested_arrays(65), BodyError::too_deep);

  // Maps open levels as arrays do: {nil: {nil: ... nil}}.
  std::string maps;
  for (int i = 0; i < 64; ++i) maps += "\x81\xc0";
  EXPECT_EQ(wire::scan_msgpack(maps + '\xc0'), std::nullopt);
  EXPECT_TRUE(accepted(maps + '\xc0'));
  expect_refused("\x81\xc0" + maps + '\xc0', BodyError::too_deep);
}

TEST(ScanMsgpack, CustomDepth) {
  EXPECT_EQ(wire::scan_msgpack(nested_arrays(3), 3), std::nullopt);
  EXPECT_EQ(wire::scan_msgpack(nested_arrays(4), 3), std::optional{BodyError::too_deep});
  EXPECT_EQ(wire::scan_msgpack("\x03", 0), std::nullopt);
  EXPECT_EQ(wire::scan_msgpack(nested_arrays(1), 0), std::optional{BodyError::too_deep});
}

TEST(ScanMsgpack, SiblingsDoNotAddDepth) {
  // 64 levels, then 100 siblings at the deepest level.
  std::string body(63, '\x91');
  body += hex_decode("dc0064");
  body += std::string(100, '\x01');
  EXPECT_EQ(wire::scan_msgpack(body), std::nullopt);
  EXPECT_TRUE(accepted(body));
}

TEST(ScanMsgpack, VeryDeepNestingIsRefusedQuickly) {
  const std::string deep = nested_arrays(100'000);
  const auto start = std::chrono::steady_clock::now();
  expect_refused(deep, BodyError::too_deep);
  std::string maps;
  for (int i = 0; i < 100'000; ++i) maps += "\x81\xc0";
  expect_refused(maps + '\xc0', BodyError::too_deep);
  // Generous: the point is no recursion and no quadratic work.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

TEST(ScanMsgpack, ErrorTexts) {
  for (BodyError error : {BodyError::empty, BodyError::truncated, BodyError::invalid_byte, BodyError::too_deep,
                          BodyError::trailing_bytes}) {
    EXPECT_NE(wire::body_error_text(error), "?");
    EXPECT_FALSE(wire::body_error_text(error).empty());
  }
}

// --- unpack_body ---

TEST(UnpackBody, DecodesValues) {
  {
    auto handle = unpacked(hex_decode("93a361646492010280"));
    const msgpack::object& o = handle.get();
    ASSERT_EQ(o.type, msgpack::type::ARRAY);
    ASSERT_EQ(o.via.array.size, 3u);
    EXPECT_EQ(o.via.array.ptr[0].as<std::string>(), "add");
    EXPECT_EQ(o.via.array.ptr[1].via.array.ptr[1].as<int>(), 2);
  }
  {
    auto handle = unpacked(hex_decode("cfffffffffffffffff"));
    EXPECT_EQ(handle.get().as<std::uint64_t>(), UINT64_MAX);
  }
  {
    auto handle = unpacked(hex_decode("d52a7879"));
    ASSERT_EQ(handle.get().type, msgpack::type::EXT);
    EXPECT_EQ(handle.get().via.ext.type(), 42);
    EXPECT_EQ(std::string_view(handle.get().via.ext.data(), handle.get().via.ext.size), "xy");
  }
}

TEST(UnpackBody, AcceptsEveryValidBody) {
  for (const std::string& body : valid_bodies) EXPECT_TRUE(accepted(body)) << hex_encode(body);
}

TEST(UnpackBody, AgreesWithTheScan) {
  // msgpack-c's own limits must never refuse what the scan let through;
  // empty containers at the depth limit are the sharp edge.
  std::vector<std::string> inputs = valid_bodies;
  for (std::size_t depth : {63u, 64u, 65u}) {
    inputs.push_back(std::string(depth, '\x91') + '\x90');
    inputs.push_back(std::string(depth, '\x91') + '\x80');
    inputs.push_back(std::string(depth, '\x91') + '\xc0');
    inputs.push_back(std::string(depth, '\x91') + "\x92\x90\x80");
  }
  for (const std::string& input : inputs) {
    const auto scan = wire::scan_msgpack(input);
    const auto result = wire::unpack_body(input);
    const auto* error = std::get_if<BodyError>(&result);
    EXPECT_EQ(scan, error ? std::optional{*error} : std::nullopt) << hex_encode(input.substr(input.size() - 4));
  }
}

TEST(UnpackBody, StringsAreCopiedOutOfTheInput) {
  std::string bytes = hex_decode("92a3616263c403646566");
  auto handle = unpacked(bytes);
  const msgpack::object& o = handle.get();
  ASSERT_EQ(o.type, msgpack::type::ARRAY);
  const auto inside_input = [&](const char* p) { return p >= bytes.data() && p < bytes.data() + bytes.size(); };
  EXPECT_FALSE(inside_input(o.via.array.ptr[0].via.str.ptr));
  EXPECT_FALSE(inside_input(o.via.array.ptr[1].via.bin.ptr));
  std::fill(bytes.begin(), bytes.end(), 'z');
  EXPECT_EQ(std::string_view(o.via.array.ptr[0].via.str.ptr, o.via.array.ptr[0].via.str.size), "abc");
  EXPECT_EQ(std::string_view(o.via.array.ptr[1].via.bin.ptr, o.via.array.ptr[1].via.bin.size), "def");
}

TEST(UnpackBody, LargeHonestArraysAreAccepted) {
  // The limits derive from the body length, so a long but honest body passes.
  std::string body = "\xdc\x27\x10";  // array16 of 10 000
  body += std::string(10'000, '\x01');
  auto handle = unpacked(body);
  EXPECT_EQ(handle.get().via.array.size, 10'000u);

  std::string text = "\xda\xff\xff" + std::string(0xffff, 'a');  // str16 of 65535
  auto text_handle = unpacked(text);
  EXPECT_EQ(text_handle.get().via.str.size, 0xffffu);
}

// --- decode_work ---

// A decoded WORK body with the handle its views point into.
struct Work {
  msgpack::object_handle handle;
  std::variant<wire::WorkBody, wire::WorkRejection> result;
};

Work work(std::string_view hex) {
  Work out{unpacked(hex_decode(hex)), wire::WorkRejection{}};
  out.result = wire::decode_work(out.handle.get());
  return out;
}

::testing::AssertionResult rejected_work(const Work& work, std::string_view class_name,
                                         std::optional<std::string_view> message = {}) {
  const auto& result = work.result;
  if (std::holds_alternative<wire::WorkBody>(result)) return ::testing::AssertionFailure() << "accepted";
  const auto& rejection = std::get<wire::WorkRejection>(result);
  if (rejection.class_name != class_name || (message && rejection.message != *message)) {
    return ::testing::AssertionFailure() << "rejected as " << rejection.class_name << ": " << rejection.message;
  }
  if (rejection.message.empty()) return ::testing::AssertionFailure() << "empty message";
  return ::testing::AssertionSuccess();
}

TEST(DecodeWork, Add) {
  const Work decoded = work("93a361646492010280");
  ASSERT_TRUE(std::holds_alternative<wire::WorkBody>(decoded.result));
  const auto& body = std::get<wire::WorkBody>(decoded.result);
  EXPECT_EQ(body.name, "add");
  ASSERT_EQ(body.arg_count, 2u);
  EXPECT_EQ(body.args[0].as<int>(), 1);
  EXPECT_EQ(body.args[1].as<int>(), 2);
  EXPECT_EQ(body.kwarg_count, 0u);
}

TEST(DecodeWork, Kwargs) {
  const Work decoded = work("93a5677265657491a3626f6281a86772656574696e67a24869");
  ASSERT_TRUE(std::holds_alternative<wire::WorkBody>(decoded.result));
  const auto& body = std::get<wire::WorkBody>(decoded.result);
  EXPECT_EQ(body.name, "greet");
  ASSERT_EQ(body.arg_count, 1u);
  EXPECT_EQ(body.args[0].as<std::string>(), "bob");
  ASSERT_EQ(body.kwarg_count, 1u);
  EXPECT_EQ(body.kwargs[0].key.as<std::string>(), "greeting");
  EXPECT_EQ(body.kwargs[0].val.as<std::string>(), "Hi");
}

TEST(DecodeWork, DottedNameAndLongName) {
  const Work dotted = work("93ac737472696e672e6c6f77657291a341424380");
  ASSERT_TRUE(std::holds_alternative<wire::WorkBody>(dotted.result));
  EXPECT_EQ(std::get<wire::WorkBody>(dotted.result).name, "string.lower");
  // str8 name (d9), as Python packs names of 32..255 bytes.
  const std::string name(40, 'n');
  const Work long_name = work("93d928" + hex_encode(name) + "9080");
  ASSERT_TRUE(std::holds_alternative<wire::WorkBody>(long_name.result));
  EXPECT_EQ(std::get<wire::WorkBody>(long_name.result).name, name);
}

TEST(DecodeWork, NotAnArray) {
  EXPECT_TRUE(rejected_work(work("03"), "TypeError"));
  EXPECT_TRUE(rejected_work(work("a3616464"), "TypeError"));
  EXPECT_TRUE(rejected_work(work("80"), "TypeError"));
  EXPECT_TRUE(rejected_work(work("c0"), "TypeError"));
}

TEST(DecodeWork, WrongLength) {
  EXPECT_TRUE(rejected_work(work("90"), "TypeError"));
  EXPECT_TRUE(rejected_work(work("91a3616464"), "TypeError"));
  EXPECT_TRUE(rejected_work(work("92a361646490"), "TypeError"));  // the case that kills a Python peer
  EXPECT_TRUE(rejected_work(work("94a3616464908000"), "TypeError"));
}

TEST(DecodeWork, BinNameIsServiceNotFound) {
  EXPECT_TRUE(rejected_work(work("93c403616464920102" "80"), "ServiceNotFoundError", "b'add'"));
  EXPECT_TRUE(rejected_work(work("93c402" "00ff" "9080"), "ServiceNotFoundError", "b'\\x00\\xff'"));
}

TEST(DecodeWork, NameOfAnotherType) {
  EXPECT_TRUE(rejected_work(work("93019080"), "TypeError"));
  EXPECT_TRUE(rejected_work(work("93c09080"), "TypeError"));
  EXPECT_TRUE(rejected_work(work("93909080"), "TypeError"));
}

TEST(DecodeWork, ArgsNotAnArray) {
  EXPECT_TRUE(rejected_work(work("93a36164640180"), "TypeError"));
  EXPECT_TRUE(rejected_work(work("93a3616464c080"), "TypeError"));
  EXPECT_TRUE(rejected_work(work("93a361646481a16101" "80"), "TypeError"));
}

TEST(DecodeWork, KwargsNotAMap) {
  EXPECT_TRUE(rejected_work(work("93a36164649090"), "TypeError"));
  EXPECT_TRUE(rejected_work(work("93a361646490c0"), "TypeError"));  // nil kwargs
  EXPECT_TRUE(rejected_work(work("93a36164649001"), "TypeError"));
}

TEST(DecodeWork, KeywordsMustBeStrings) {
  // bin key, as in the edge-probe capture, then int and nil keys; a bad key
  // after a good one still counts.
  for (const char* kwargs : {"81c4016101", "810101", "81c001", "82a1610181c00101", "82a16101c40162" "02"}) {
    EXPECT_TRUE(rejected_work(work(std::string("93a361646490") + kwargs), "TypeError", "keywords must be strings"))
        << kwargs;
  }
}

TEST(DecodeWork, EmptyNameIsAString) {
  const Work decoded = work("93a09080");
  ASSERT_TRUE(std::holds_alternative<wire::WorkBody>(decoded.result));
  EXPECT_EQ(std::get<wire::WorkBody>(decoded.result).name, "");
}

// --- ERROR ---

std::string error_bytes(std::string_view name, std::string_view message, std::string_view traceback) {
  msgpack::sbuffer buffer;
  wire::encode_error(buffer, name, message, traceback);
  return {buffer.data(), buffer.size()};
}

TEST(EncodeError, ThreeStrings) {
  EXPECT_EQ(hex_encode(error_bytes("ValueError", "oops", "")), "93aa56616c75654572726f72a46f6f7073a0");
}

TEST(EncodeError, StringSizesFollowPython) {
  // fixstr up to 31 bytes, then str8 (d9), str16 (da), str32 (db).
  const std::string s31(31, 'a'), s32(32, 'b'), s256(256, 'c'), s65536(65536, 'd');
  const std::string bytes = error_bytes(s31, s32, s256);
  EXPECT_EQ(hex_encode(bytes.substr(0, 2)), "93bf");
  EXPECT_EQ(hex_encode(bytes.substr(33, 2)), "d920");
  EXPECT_EQ(hex_encode(bytes.substr(67, 3)), "da0100");
  EXPECT_EQ(bytes.size(), 1 + 32 + 34 + 259u);
  const std::string big = error_bytes("E", "", s65536);
  EXPECT_EQ(hex_encode(big.substr(4, 5)), "db00010000");
}

TEST(DecodeError, RoundTrip) {
  const std::string tb = "Traceback (most recent call last):\n  File \"x.py\", line 1\nValueError: oops\n";
  auto handle = unpacked(error_bytes("ValueError", "oops", tb));
  auto error = wire::decode_error(handle.get());
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->name, "ValueError");
  EXPECT_EQ(error->message, "oops");
  EXPECT_EQ(error->traceback, tb);
}

TEST(DecodeError, AcceptsBin) {
  auto handle = unpacked(hex_decode("93c40145a16dc400"));
  auto error = wire::decode_error(handle.get());
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->name, "E");
  EXPECT_EQ(error->message, "m");
  EXPECT_EQ(error->traceback, "");
}

TEST(DecodeError, RefusesOtherShapes) {
  for (const char* hex : {"03", "a145", "92a145a16d", "94a145a16da0a0", "93a145a16d01", "9301a16da0", "93a145c0a0",
                          "90", "83a145a16da0a0a0a0"}) {
    auto handle = unpacked(hex_decode(hex));
    EXPECT_FALSE(wire::decode_error(handle.get()).has_value()) << hex;
  }
}

// --- HELLO ---

TEST(EncodeHello, BinPairAsPythonSends) {
  msgpack::sbuffer buffer;
  wire::encode_hello(buffer, "john", "s3cret!");
  EXPECT_EQ(hex_encode({buffer.data(), buffer.size()}), "92c4046a6f686ec40773336372657421");
}

TEST(DecodeHello, BinPair) {
  auto handle = unpacked(hex_decode("92c4046a6f686ec40773336372657421"));
  auto hello = wire::decode_hello(handle.get());
  ASSERT_TRUE(hello.has_value());
  EXPECT_EQ(hello->login, "john");
  EXPECT_EQ(hello->password, "s3cret!");
}

TEST(DecodeHello, RoundTripBinaryCredentials) {
  const std::string login("\x00\xff\n", 3), password(300, '\x80');
  msgpack::sbuffer buffer;
  wire::encode_hello(buffer, login, password);
  auto handle = unpacked({buffer.data(), buffer.size()});
  auto hello = wire::decode_hello(handle.get());
  ASSERT_TRUE(hello.has_value());
  EXPECT_EQ(hello->login, login);
  EXPECT_EQ(hello->password, password);
}

TEST(DecodeHello, StrLoginIsRefused) {
  // Python's backends compare bytes: a str login never authenticates.
  for (const char* hex : {"92a46a6f686ec40773336372657421", "92c4046a6f686ea773336372657421",
                          "92a46a6f686ea773336372657421"}) {
    auto handle = unpacked(hex_decode(hex));
    EXPECT_FALSE(wire::decode_hello(handle.get()).has_value()) << hex;
  }
}

TEST(DecodeHello, RefusesOtherShapes) {
  for (const char* hex : {"c4046a6f686e", "91c4046a6f686e", "93c4016ac40170c40171", "90", "92c0c0", "92c4016a01",
                          "81c4016ac40170"}) {
    auto handle = unpacked(hex_decode(hex));
    EXPECT_FALSE(wire::decode_hello(handle.get()).has_value()) << hex;
  }
}

// --- python_bytes_repr ---

TEST(PythonBytesRepr, MatchesPython) {
  struct Case {
    std::string bytes;
    std::string repr;
  };
  const Case cases[] = {
      {"add", "b'add'"},
      {"", "b''"},
      {std::string("\x00\xff", 2), "b'\\x00\\xff'"},
      {"it's", "b\"it's\""},
      {"say \"hi\"", "b'say \"hi\"'"},
      {"'\"", "b'\\'\"'"},
      {"a\\b", "b'a\\\\b'"},
      {"\n\r\t", "b'\\n\\r\\t'"},
      {"\x1f\x7f\x80 ~", "b'\\x1f\\x7f\\x80 ~'"},
      {"\x0b\x0c\x07\x08", "b'\\x0b\\x0c\\x07\\x08'"},
      {"\xab\xCD", "b'\\xab\\xcd'"},
  };
  for (const Case& c : cases) EXPECT_EQ(wire::python_bytes_repr(c.bytes), c.repr) << hex_encode(c.bytes);
}

}  // namespace
}  // namespace pseud::test

namespace pseud::test {
namespace {

TEST(MapKeys, OnlyStrAndBinKeysCountAsStrings) {
  EXPECT_TRUE(wire::map_keys_are_strings(hex_decode("81a16101")));            // {"a": 1}
  EXPECT_TRUE(wire::map_keys_are_strings(hex_decode("81c4016101")));          // {b"a": 1}
  EXPECT_TRUE(wire::map_keys_are_strings(hex_decode("9201a3616263")));        // no map at all
  EXPECT_TRUE(wire::map_keys_are_strings(hex_decode("81a16181a16202")));      // nested, all str
  EXPECT_FALSE(wire::map_keys_are_strings(hex_decode("810102")));             // {1: 2}
  EXPECT_FALSE(wire::map_keys_are_strings(hex_decode("81a16181c002")));       // nested nil key
  EXPECT_FALSE(wire::map_keys_are_strings(hex_decode("91810102")));           // inside an array
  EXPECT_FALSE(wire::map_keys_are_strings(hex_decode("82a16101a1620281")));   // malformed bytes are never clean
}

}  // namespace
}  // namespace pseud::test
