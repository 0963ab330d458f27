// What a Python pseud peer cannot decode (issue 9, row 11): the one-pass scan
// that finds non-string map keys, str values that are not UTF-8 and ext types
// 123..126 in a packed body; UTF-8 as Python's strict decoder judges it; the
// messages that explain a finding; ERROR texts made decodable; and the scan's
// cost, printed as [figure] lines.

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "pseud/values.hpp"
#include "test_support.hpp"
#include "wire/bodies.hpp"
#include "wire/msgpack_scan.hpp"

namespace pseud::test {
namespace {

using wire::PythonChecks;
using wire::PythonHazard;

constexpr std::size_t npos = std::string_view::npos;
constexpr PythonChecks all_checks{};

// ---- UTF-8 ----------------------------------------------------------------------

struct Utf8Case {
  const char* hex;        // the bytes
  std::size_t first_bad;  // where Python's strict decoder fails (UnicodeDecodeError.start), or npos
  const char* replaced;   // bytes.decode("utf-8", "replace").encode("utf-8"), as hex
};

// Verdicts computed with Debian's /usr/bin/python3 3.11.
const Utf8Case utf8_cases[] = {
    // clang-format off
      {"", npos, ""},
      {"616263", npos, "616263"},
      {"00", npos, "00"},
      {"68c3a96c6c6f", npos, "68c3a96c6c6f"},
      {"e29c93", npos, "e29c93"},
      {"f09f908d", npos, "f09f908d"},
      {"7f", npos, "7f"},
      {"80", 0, "efbfbd"},
      {"bf", 0, "efbfbd"},
      {"c080", 0, "efbfbdefbfbd"},
      {"c1bf", 0, "efbfbdefbfbd"},
      {"c280", npos, "c280"},
      {"dfbf", npos, "dfbf"},
      {"c2", 0, "efbfbd"},
      {"c241", 0, "efbfbd41"},
      {"e08080", 0, "efbfbdefbfbdefbfbd"},
      {"e09fbf", 0, "efbfbdefbfbdefbfbd"},
      {"e0a080", npos, "e0a080"},
      {"ed9fbf", npos, "ed9fbf"},
      {"eda080", 0, "efbfbdefbfbdefbfbd"},
      {"edbfbf", 0, "efbfbdefbfbdefbfbd"},
      {"ee8080", npos, "ee8080"},
      {"efbfbf", npos, "efbfbf"},
      {"efbfbe", npos, "efbfbe"},
      {"e282", 0, "efbfbd"},
      {"e28241", 0, "efbfbd41"},
      {"f0808080", 0, "efbfbdefbfbdefbfbdefbfbd"},
      {"f08fbfbf", 0, "efbfbdefbfbdefbfbdefbfbd"},
      {"f0908080", npos, "f0908080"},
      {"f48fbfbf", npos, "f48fbfbf"},
      {"f4908080", 0, "efbfbdefbfbdefbfbdefbfbd"},
      {"f5808080", 0, "efbfbdefbfbdefbfbdefbfbd"},
      {"f888808080", 0, "efbfbdefbfbdefbfbdefbfbdefbfbd"},
      {"ff", 0, "efbfbd"},
      {"fe", 0, "efbfbd"},
      {"f09f90", 0, "efbfbd"},
      {"f09f", 0, "efbfbd"},
      {"6162636465666768ff", 8, "6162636465666768efbfbd"},
      {"6162636465666768696a6b6c6d6e6f70c3a971", npos, "6162636465666768696a6b6c6d6e6f70c3a971"},
      {"eda0bdedb08d", 0, "efbfbdefbfbdefbfbdefbfbdefbfbdefbfbd"},
      {"61ff62fe63", 1, "61efbfbd62efbfbd63"},
      {"c3a9c3", 2, "c3a9efbfbd"},
      {"f09f9041", 0, "efbfbd41"},
      {"e180c0", 0, "efbfbdefbfbd"},
      {"f18080c080", 0, "efbfbdefbfbdefbfbd"},
    // clang-format on
};

TEST(Utf8, JudgedAsPythonsStrictDecoderDoes) {
  for (const Utf8Case& c : utf8_cases) {
    const std::string bytes = hex_decode(c.hex);
    EXPECT_EQ(wire::invalid_utf8_at(bytes), c.first_bad) << c.hex;
    EXPECT_EQ(wire::valid_utf8(bytes), c.first_bad == npos) << c.hex;
    EXPECT_EQ(hex_encode(wire::replace_invalid_utf8(bytes)), c.replaced) << c.hex;
  }
}

// An independent formulation: decode the code point, then check that its
// encoding was the shortest one, that it is no surrogate and at most U+10FFFF.
bool reference_valid(const unsigned char* p, std::size_t n) {
  std::size_t i = 0;
  while (i < n) {
    const unsigned b = p[i];
    std::size_t length;
    std::uint32_t cp;
    if (b < 0x80) {
      ++i;
      continue;
    } else if ((b & 0xe0) == 0xc0) {
      length = 2, cp = b & 0x1f;
    } else if ((b & 0xf0) == 0xe0) {
      length = 3, cp = b & 0x0f;
    } else if ((b & 0xf8) == 0xf0) {
      length = 4, cp = b & 0x07;
    } else {
      return false;
    }
    if (n - i < length) return false;
    for (std::size_t k = 1; k < length; ++k) {
      if ((p[i + k] & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (p[i + k] & 0x3f);
    }
    const std::uint32_t shortest = length == 2 ? 0x80 : length == 3 ? 0x800 : 0x10000;
    if (cp < shortest || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) return false;
    i += length;
  }
  return true;
}

TEST(Utf8, AgreesWithAReferenceDecoderOnEveryStringUpToThreeBytes) {
  std::size_t disagreements = 0;
  unsigned char buffer[3];
  for (std::uint32_t v = 0; v < (1u << 24); ++v) {
    buffer[0] = static_cast<unsigned char>(v >> 16);
    buffer[1] = static_cast<unsigned char>(v >> 8);
    buffer[2] = static_cast<unsigned char>(v);
    for (std::size_t n = 1; n <= 3; ++n) {
      if (n < 3 && (v & ((1u << (8 * (3 - n))) - 1)) != 0) continue;  // shorter strings: once each
      const std::string_view text(reinterpret_cast<const char*>(buffer), n);
      if (wire::valid_utf8(text) != reference_valid(buffer, n) && ++disagreements < 10) {
        ADD_FAILURE() << hex_encode(text);
      }
    }
  }
  EXPECT_EQ(disagreements, 0u);
}

TEST(Utf8, AgreesWithAReferenceDecoderOnFourByteSequencesAfterAnyAsciiPrefix) {
  const unsigned char tails[] = {0x41, 0x7f, 0x80, 0x8f, 0x90, 0xbf, 0xc0, 0xff};
  std::size_t disagreements = 0;
  for (std::size_t prefix : {0, 1, 7, 8, 9, 15, 16, 17}) {  // the eight-byte ASCII runs end anywhere
    std::vector<unsigned char> buffer(prefix, 'a');
    buffer.resize(prefix + 4);
    for (unsigned lead = 0xc0; lead <= 0xff; ++lead) {
      for (unsigned second = 0; second <= 0xff; ++second) {
        for (unsigned char third : tails) {
          for (unsigned char fourth : tails) {
            buffer[prefix] = static_cast<unsigned char>(lead);
            buffer[prefix + 1] = static_cast<unsigned char>(second);
            buffer[prefix + 2] = third;
            buffer[prefix + 3] = fourth;
            const std::string_view text(reinterpret_cast<const char*>(buffer.data()), buffer.size());
            const bool valid = reference_valid(buffer.data(), buffer.size());
            const std::size_t bad = wire::invalid_utf8_at(text);
            if ((bad == npos) != valid || (!valid && bad < prefix)) {
              if (++disagreements < 10) ADD_FAILURE() << hex_encode(text) << " first bad " << bad;
            }
          }
        }
      }
    }
  }
  EXPECT_EQ(disagreements, 0u);
}

// ---- the scan --------------------------------------------------------------------

wire::PythonFinding hazard(std::string_view hex, PythonChecks checks = all_checks) {
  return wire::find_python_hazard(hex_decode(hex), checks);
}

::testing::AssertionResult finds(std::string_view hex, PythonHazard expected, std::size_t offset,
                                 PythonChecks checks = all_checks) {
  const wire::PythonFinding got = hazard(hex, checks);
  if (got.hazard != expected || got.offset != offset) {
    return ::testing::AssertionFailure() << hex << ": hazard " << static_cast<int>(got.hazard) << " at " << got.offset
                                         << ", expected " << static_cast<int>(expected) << " at " << offset;
  }
  return ::testing::AssertionSuccess();
}

TEST(PythonHazards, BodiesPythonDecodesAreClean) {
  for (const char* hex : {"03", "93a361646492010280", "93a5677265657491a3626f6281a86772656574696e67a24869",
                          "82a474657874a848692c20626f6221a5657874726180",  // {"text": "Hi, bob!", "extra": {}}
                          "93a46563686f91c40200ff80",                      // bytes may hold anything
                          "a668c3a96c6c6f",                                // "héllo"
                          "a4f09f908d",                                    // one 4-byte character
                          "d52a7879", "c7037a010203", "d57a0000", "d57f0000", "d5ff0000",  // ext 42, 122, 127, -1
                          "81c4016101", "c0", "cb3ff0000000000000", "dc0001a0", "de0001a0a0"}) {
    EXPECT_FALSE(hazard(hex)) << hex;
  }
}

TEST(PythonHazards, StrThatIsNotUtf8InEveryStrFamily) {
  EXPECT_TRUE(finds("a2ff41", PythonHazard::invalid_utf8, 0));                    // fixstr
  EXPECT_TRUE(finds("93d902c3a9d90141d902c341", PythonHazard::invalid_utf8, 8));  // str8: the third one
  EXPECT_TRUE(finds("92da0003616263da0001ed", PythonHazard::invalid_utf8, 7));    // str16
  EXPECT_TRUE(finds("db00000002eda0", PythonHazard::invalid_utf8, 0));            // str32, a surrogate
  EXPECT_TRUE(finds("92c0a3c0af41", PythonHazard::invalid_utf8, 2));              // in an array, overlong '/'
  EXPECT_TRUE(finds("81a2ff41c0", PythonHazard::invalid_utf8, 1));                // a map key
  EXPECT_TRUE(finds("81a16181a162a1ff", PythonHazard::invalid_utf8, 6));          // a nested map value
  EXPECT_EQ(hazard("a5616263ff64").detail, 3u);                                   // the bad byte's index
  EXPECT_FALSE(hazard("a2ff41", {.map_keys = true, .utf8 = false, .pickled_ext = true}));
}

TEST(PythonHazards, PythonsPickledExtCodesInEveryExtFamily) {
  for (const char* code : {"7b", "7c", "7d", "7e"}) {  // 123..126
    const std::string c = code;
    for (const std::string& hex : {"d4" + c + "00", "d5" + c + "0000", "d6" + c + "00000000",
                                   "d7" + c + std::string(16, '0'), "d8" + c + std::string(32, '0'), "c700" + c,
                                   "c703" + c + "616263", "c80001" + c + "00", "c900000001" + c + "00"}) {
      const wire::PythonFinding found = hazard(hex);
      EXPECT_EQ(found.hazard, PythonHazard::pickled_ext) << hex;
      EXPECT_EQ(found.detail, std::stoul(c, nullptr, 16)) << hex;
    }
  }
  EXPECT_TRUE(finds("93a46563686f91c70c7d6e6f742061207069636b6c6580", PythonHazard::pickled_ext, 7));
  EXPECT_FALSE(hazard("d57d0000", {.map_keys = true, .utf8 = true, .pickled_ext = false}));
}

TEST(PythonHazards, MapKeysThatAreNeitherStrNorBin) {
  EXPECT_TRUE(finds("810102", PythonHazard::map_key, 1));          // {1: 2}
  EXPECT_TRUE(finds("81a16181c002", PythonHazard::map_key, 4));    // nested nil key
  EXPECT_TRUE(finds("91810102", PythonHazard::map_key, 2));        // inside an array
  EXPECT_TRUE(finds("8191c001", PythonHazard::map_key, 1));        // an array as key
  EXPECT_TRUE(finds("81d52a787901", PythonHazard::map_key, 1));    // an ext as key
  EXPECT_TRUE(finds("82a16101a162", PythonHazard::malformed, 0));  // truncated: never clean
  EXPECT_FALSE(hazard("810102", {.map_keys = false, .utf8 = true, .pickled_ext = true}));
  // The values of a map are not keys.
  EXPECT_FALSE(hazard("82a16101a162c0"));
}

TEST(PythonHazards, TheFirstHazardInByteOrderIsReported) {
  const std::string body =
      "93"
      "a2ff41"
      "d57d0000"
      "810102";  // bad str, ext 125, int key
  EXPECT_TRUE(finds(body, PythonHazard::invalid_utf8, 1));
  EXPECT_TRUE(finds(body, PythonHazard::pickled_ext, 4, {.map_keys = true, .utf8 = false, .pickled_ext = true}));
  EXPECT_TRUE(finds(body, PythonHazard::map_key, 9, {.map_keys = true, .utf8 = false, .pickled_ext = false}));
  EXPECT_FALSE(hazard(body, {.map_keys = false, .utf8 = false, .pickled_ext = false}));
}

TEST(PythonHazards, MalformedBodiesAreNeverClean) {
  for (const char* hex : {"", "c1", "a3616263ff", "dc0010", "9201", "0101", "d97d"}) {
    EXPECT_EQ(hazard(hex).hazard, PythonHazard::malformed) << hex;
  }
  std::string deep;
  for (int i = 0; i < 65; ++i) deep += "91";
  EXPECT_EQ(hazard(deep + "c0").hazard, PythonHazard::malformed);  // 65 levels deep
}

TEST(PythonHazards, AFaultAfterAHazardStillMakesTheBodyMalformed) {
  // Each starts with a hazard of every kind, then breaks the body further on.
  for (const char* hex : {"93a1ff90", "810102c1" /* int key, then 0xc1 */, "92d57d0000", "92a2ff41c0c0", "91a1ff00"}) {
    EXPECT_EQ(hazard(hex).hazard, PythonHazard::malformed) << hex;
  }
  EXPECT_TRUE(finds("92a1ffc0", PythonHazard::invalid_utf8, 1));  // the same hazard in a sound body
}

TEST(PythonHazards, MapKeysAreStringsKeepsItsMeaning) {
  EXPECT_TRUE(wire::map_keys_are_strings(hex_decode("81a2ff4101")));  // only keys are its business
  EXPECT_TRUE(wire::map_keys_are_strings(hex_decode("d57d0000")));
  EXPECT_FALSE(wire::map_keys_are_strings(hex_decode("810102")));
}

// What our own packer writes for the C++ types a user passes.
template <class... T>
std::string packed_work(const std::string& name, const T&... args) {
  pseud::detail::WireBuffer buffer;
  msgpack::packer<pseud::detail::WireBuffer> packer(buffer);
  packer.pack_array(3);
  packer.pack(name);
  packer.pack_array(sizeof...(T));
  (packer.pack(args), ...);
  packer.pack_map(0);
  return {buffer.data(), buffer.size()};
}

TEST(PythonHazards, WhatCppTypesPackTo) {
  const std::string binary("\x00\xff\xfe", 3);
  EXPECT_EQ(wire::find_python_hazard(packed_work("f", binary), all_checks).hazard, PythonHazard::invalid_utf8);
  EXPECT_FALSE(wire::find_python_hazard(packed_work("f", Bytes(binary)), all_checks));
  EXPECT_FALSE(wire::find_python_hazard(packed_work("f", std::vector<char>(binary.begin(), binary.end())), all_checks));
  EXPECT_FALSE(wire::find_python_hazard(packed_work("f", std::string("h\xc3\xa9llo")), all_checks));
  EXPECT_EQ(wire::find_python_hazard(packed_work("f", msgpack::type::ext(125, "xy", 2)), all_checks).hazard,
            PythonHazard::pickled_ext);
  EXPECT_FALSE(wire::find_python_hazard(packed_work("f", msgpack::type::ext(42, "xy", 2)), all_checks));
  EXPECT_EQ(wire::find_python_hazard(packed_work("f", std::map<int, int>{{1, 2}}), all_checks).hazard,
            PythonHazard::map_key);
}

// ---- explaining a finding ----------------------------------------------------------

std::string explain(const std::string& body, bool work) {
  const wire::PythonFinding finding = wire::find_python_hazard(body, all_checks);
  return wire::describe_python_hazard(body, finding, work);
}

TEST(PythonHazards, DescriptionsSayWhereAndWhat) {
  const std::string bad("ab\xff", 3);
  EXPECT_EQ(explain(packed_work("f", 1, bad), true),
            "positional argument 2 holds a str that is not valid UTF-8 (byte 0xff at index 2): a Python pseud "
            "peer's reader stops for good on it");
  EXPECT_EQ(explain(packed_work(bad), true),
            "the function name holds a str that is not valid UTF-8 (byte 0xff at index 2): a Python pseud peer's "
            "reader stops for good on it");
  EXPECT_EQ(explain(packed_work("f", std::vector<std::string>{"ok", bad}), true),
            "positional argument 1 holds a str that is not valid UTF-8 (byte 0xff at index 2): a Python pseud "
            "peer's reader stops for good on it");
  EXPECT_EQ(explain(packed_work("f", msgpack::type::ext(125, "xy", 2)), true),
            "positional argument 1 holds ext type 125, which a Python pseud peer unpickles as a datetime: its "
            "reader stops for good on a payload that is not a pickle, and a pickle can run any code there");
  EXPECT_EQ(explain(packed_work("f", std::map<int, int>{{1, 2}}), true),
            "positional argument 1 holds a map key that is neither str nor bytes: Python pseud 2.x's reader "
            "stops for good on it");
  // Keyword arguments are named.
  pseud::KeywordArgs kwargs = kw("fine", 1, "when", msgpack::type::ext(124, "", 0));
  pseud::detail::WireBuffer buffer;
  msgpack::packer<pseud::detail::WireBuffer> packer(buffer);
  packer.pack_array(3);
  packer.pack(std::string("f"));
  packer.pack_array(0);
  packer.pack_map(kwargs.size());
  buffer.write(kwargs.packed().data(), kwargs.packed().size());
  EXPECT_EQ(explain({buffer.data(), buffer.size()}, true),
            "keyword argument 'when' holds ext type 124, which a Python pseud peer unpickles as a timedelta: its "
            "reader stops for good on a payload that is not a pickle, and a pickle can run any code there");
  // A result is "the result".
  EXPECT_EQ(explain(hex_decode("92a16181a162a2c328"), false),
            "the result holds a str that is not valid UTF-8 (byte 0xc3 at index 0): a Python pseud peer's reader "
            "stops for good on it");
  EXPECT_EQ(explain(hex_decode("9201"), false),
            "the result is not one well-formed msgpack value (truncated msgpack body)");
  for (PythonHazard h : {PythonHazard::map_key, PythonHazard::invalid_utf8, PythonHazard::pickled_ext}) {
    EXPECT_NE(wire::python_hazard_remedy(h).find("PeerOptions::"), std::string_view::npos);
  }
  EXPECT_NE(wire::python_hazard_remedy(PythonHazard::invalid_utf8).find("pseud::Bytes"), std::string_view::npos);
}

// ---- ERROR texts -------------------------------------------------------------------

TEST(PythonHazards, ErrorTextsAreAlwaysDecodable) {
  msgpack::sbuffer buffer;
  wire::encode_error(buffer, "ValueError", std::string("bad \xff\xfe path", 11), "tb \xc3");
  const std::string body(buffer.data(), buffer.size());
  EXPECT_FALSE(wire::find_python_hazard(body, all_checks));
  const auto unpacked = msgpack::unpack(buffer.data(), buffer.size());
  const auto parts = unpacked.get().as<std::vector<std::string>>();
  EXPECT_EQ(parts[1], "bad \xef\xbf\xbd\xef\xbf\xbd path");
  EXPECT_EQ(parts[2], "tb \xef\xbf\xbd");
  msgpack::sbuffer clean;
  wire::encode_error(clean, "ValueError", "oops", "");
  EXPECT_EQ(hex_encode({clean.data(), clean.size()}), "93aa56616c75654572726f72a46f6f7073a0");  // unchanged
}

// ---- cost ------------------------------------------------------------------------

template <class F>
double nanoseconds_per_call(F&& f) {
  using Clock = std::chrono::steady_clock;
  double best = std::numeric_limits<double>::max();
  for (int round = 0; round < 7; ++round) {
    std::size_t iterations = 0;
    const auto start = Clock::now();
    auto now = start;
    do {
      for (int i = 0; i < 64; ++i) f();
      iterations += 64;
      now = Clock::now();
    } while (now - start < std::chrono::milliseconds(20));
    best =
        std::min(best, std::chrono::duration<double, std::nano>(now - start).count() / static_cast<double>(iterations));
  }
  return best;
}

// A WORK ["echo", [payload], {}] with `count` units of payload.
std::string work_with(std::size_t count, const std::string& kind) {
  pseud::detail::WireBuffer buffer;
  msgpack::packer<pseud::detail::WireBuffer> packer(buffer);
  packer.pack_array(3);
  packer.pack(std::string("echo"));
  packer.pack_array(1);
  if (kind == "text") {  // mostly ASCII, one two-byte character in 16 bytes
    std::string text;
    while (text.size() < count) text += (text.size() % 16 == 14 && text.size() + 2 <= count) ? "\xc3\xa9" : "a";
    packer.pack(text);
  } else if (kind == "bytes") {
    packer.pack(Bytes(std::string(count, '\xff')));
  } else {  // small values: a map of short str keys to small ints and short str
    packer.pack_map(static_cast<std::uint32_t>(count));
    for (std::size_t i = 0; i < count; ++i) {
      packer.pack(std::string("k") + std::to_string(i % 100));
      if (i % 2)
        packer.pack(static_cast<int>(i % 100));
      else
        packer.pack(std::string("v"));
    }
  }
  packer.pack_map(0);
  return {buffer.data(), buffer.size()};
}

// The largest such WORK of at most `size` bytes.
std::string work_of_size(std::size_t size, const std::string& kind) {
  std::size_t low = 0, high = size;
  while (low < high) {
    const std::size_t mid = (low + high + 1) / 2;
    if (work_with(mid, kind).size() <= size)
      low = mid;
    else
      high = mid - 1;
  }
  return work_with(low, kind);
}

TEST(PythonHazards, CostOfTheScanPerCall) {
  volatile std::size_t sink = 0;
  for (const std::string kind : {"text", "bytes", "small values"}) {
    for (std::size_t size : {std::size_t{16}, std::size_t{1024}, std::size_t{64 * 1024}}) {
      const std::string body = work_of_size(size, kind);
      ASSERT_FALSE(wire::find_python_hazard(body, all_checks)) << kind << " " << size;
      const double checked = nanoseconds_per_call(
          [&] { sink = sink + static_cast<std::size_t>(wire::find_python_hazard(body, all_checks).hazard); });
      const double structural = nanoseconds_per_call([&] { sink = sink + wire::scan_msgpack(body).has_value(); });
      const double keys_only = nanoseconds_per_call([&] { sink = sink + wire::map_keys_are_strings(body); });
      std::printf(
          "[figure] python-value scan of a %zu-byte WORK (%s): %.0f ns all three checks, %.0f ns map keys "
          "only, %.0f ns structure only (%.2f ns/byte all checks)\n",
          body.size(), kind.c_str(), checked, keys_only, structural, checked / static_cast<double>(body.size()));
    }
  }
  (void)sink;
}

}  // namespace
}  // namespace pseud::test
