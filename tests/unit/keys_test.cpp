// CURVE key helpers: generation, parsing and every way a key can be wrong.

#include <zmq.h>

#include <array>
#include <set>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "pseud/errors.hpp"
#include "pseud/keys.hpp"

namespace pseud {
namespace {

using ::testing::HasSubstr;

// Known pair from the ZeroMQ curve examples (zmq_curve_public of the secret gives the public).
constexpr std::string_view known_public = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID";
constexpr std::string_view known_secret = "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs";

// The message of the UsageError `action` throws; fails the test when it throws nothing.
template <class Action>
std::string usage_error(Action&& action) {
  try {
    action();
  } catch (const UsageError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no UsageError thrown";
  return {};
}

TEST(Keys, GeneratedPairIsValidAndConsistent) {
  const auto pair = generate_curve_keypair();
  EXPECT_EQ(pair.public_key.size(), 40u);
  EXPECT_EQ(pair.secret_key.size(), 40u);
  EXPECT_TRUE(is_valid_curve_key(pair.public_key));
  EXPECT_TRUE(is_valid_curve_key(pair.secret_key));
  EXPECT_EQ(curve_public_key(pair.secret_key), pair.public_key);
  EXPECT_NO_THROW(check_key_pair(pair.public_key, pair.secret_key, "server"));
}

TEST(Keys, GeneratedPairsDiffer) {
  std::set<std::string> seen;
  for (int i = 0; i < 20; ++i) seen.insert(generate_curve_keypair().secret_key);
  EXPECT_EQ(seen.size(), 20u);
}

TEST(Keys, ParseRoundTrip) {
  const auto pair = generate_curve_keypair();
  const CurveKey key = parse_curve_key(pair.public_key, "public key");
  EXPECT_EQ(key.z85(), pair.public_key);
  EXPECT_FALSE(key.is_zero());
  EXPECT_EQ(key.binary().size(), 32u);
  EXPECT_EQ(key_to_z85(key.binary()), pair.public_key);
  EXPECT_EQ(key_to_z85(std::span<const std::uint8_t>(key.bytes)), pair.public_key);
  EXPECT_EQ(parse_curve_key(pair.public_key, "key"), key);
}

TEST(Keys, PublicKeyMatchesLibzmq) {
  for (int i = 0; i < 10; ++i) {
    const auto pair = generate_curve_keypair();
    std::array<char, 41> expected{};
    ASSERT_EQ(zmq_curve_public(expected.data(), pair.secret_key.c_str()), 0);
    EXPECT_EQ(curve_public_key(pair.secret_key), std::string(expected.data()));
  }
  EXPECT_EQ(curve_public_key(known_secret), known_public);
}

TEST(Keys, KnownPairIsAPair) {
  EXPECT_NO_THROW(check_key_pair(known_public, known_secret, "server"));
  EXPECT_EQ(derive_public_key(parse_curve_key(known_secret, "s")), parse_curve_key(known_public, "p"));
}

TEST(Keys, KeyToZ85OfRawBytes) {
  std::array<std::uint8_t, 32> raw{};
  for (std::size_t i = 0; i < raw.size(); ++i) raw[i] = static_cast<std::uint8_t>(i * 7 + 1);
  std::array<char, 41> expected{};
  ASSERT_NE(zmq_z85_encode(expected.data(), raw.data(), raw.size()), nullptr);
  EXPECT_EQ(key_to_z85(raw), std::string(expected.data()));
  const std::string as_string(reinterpret_cast<const char*>(raw.data()), raw.size());
  EXPECT_EQ(key_to_z85(as_string), std::string(expected.data()));
  EXPECT_EQ(parse_curve_key(expected.data(), "k").bytes, raw);
}

TEST(Keys, KeyToZ85RefusesWrongLengths) {
  EXPECT_THAT(usage_error([] { key_to_z85(std::string(31, 'x')); }), HasSubstr("got 31"));
  EXPECT_THAT(usage_error([] { key_to_z85(std::string(33, 'x')); }), HasSubstr("got 33"));
  EXPECT_THAT(usage_error([] { key_to_z85(std::string(123, 'x')); }), HasSubstr("got 123"));
  EXPECT_THAT(usage_error([] { key_to_z85(std::string_view{}); }), HasSubstr("got 0"));
}

TEST(Keys, WrongLengthsAreRefusedWithTheLengthGot) {
  const std::string good(known_public);
  for (const std::size_t length : {0u, 1u, 32u, 39u, 41u, 80u}) {
    std::string text = length <= good.size() ? good.substr(0, length) : good + std::string(length - good.size(), 'a');
    const auto message = usage_error([&] { parse_curve_key(text, "server public key"); });
    EXPECT_THAT(message, HasSubstr("server public key")) << length;
    EXPECT_THAT(message, HasSubstr("must be 40")) << length;
    EXPECT_THAT(message, HasSubstr("got " + std::to_string(length))) << length;
    EXPECT_FALSE(is_valid_curve_key(text)) << length;
  }
}

TEST(Keys, CharactersOutsideTheAlphabetAreRefused) {
  // Printable ASCII that Z85 does not use, plus control bytes, NUL and high bytes.
  for (const char bad : {' ', '"', '\'', ',', ';', '\\', '_', '`', '|', '~', '\0', '\n', '\x7f', '\x80', '\xff'}) {
    std::string text(known_public);
    text[17] = bad;
    const auto message = usage_error([&] { parse_curve_key(text, "client public key"); });
    EXPECT_THAT(message, HasSubstr("client public key")) << int(bad);
    EXPECT_THAT(message, HasSubstr("Z85 alphabet")) << int(bad);
    EXPECT_THAT(message, HasSubstr("position 17")) << int(bad);
    EXPECT_FALSE(is_valid_curve_key(text)) << int(bad);
  }
}

TEST(Keys, GroupsAboveThirtyTwoBitsAreRefused) {
  // "#####" is 85^5 - 1, far above 2^32 - 1: alphabet-clean but not an encoding.
  const std::string text = "#####" + std::string(known_public.substr(5));
  const auto message = usage_error([&] { parse_curve_key(text, "server public key"); });
  EXPECT_THAT(message, HasSubstr("server public key"));
  EXPECT_THAT(message, HasSubstr("not a valid Z85 encoding"));
  EXPECT_FALSE(is_valid_curve_key(text));
}

TEST(Keys, AllZeroKeyIsRefused) {
  // Z85 of 32 zero bytes is forty '0' characters.
  const std::array<std::uint8_t, 32> zeros{};
  const std::string zero_text = key_to_z85(zeros);
  ASSERT_EQ(zero_text, std::string(40, '0'));
  const auto message = usage_error([&] { parse_curve_key(zero_text, "server secret key"); });
  EXPECT_THAT(message, HasSubstr("server secret key"));
  EXPECT_THAT(message, HasSubstr("all zeros"));
  EXPECT_FALSE(is_valid_curve_key(zero_text));
  EXPECT_THROW(curve_public_key(zero_text), UsageError);
}

TEST(Keys, ErrorsNeverQuoteTheKey) {
  std::string text(known_secret);
  text[3] = ' ';
  const auto message = usage_error([&] { parse_curve_key(text, "secret key"); });
  EXPECT_THAT(message, ::testing::Not(HasSubstr(std::string(known_secret.substr(5, 10)))));
}

TEST(Keys, CurvePublicKeyRefusesBadInput) {
  EXPECT_THROW(curve_public_key(""), UsageError);
  EXPECT_THROW(curve_public_key(known_secret.substr(0, 39)), UsageError);
  EXPECT_THROW(curve_public_key(std::string(known_secret) + "0"), UsageError);
  EXPECT_THAT(usage_error([] { curve_public_key("~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~"); }), HasSubstr("secret key"));
}

TEST(Keys, MismatchedPairIsRefused) {
  const auto a = generate_curve_keypair();
  const auto b = generate_curve_keypair();
  const auto message = usage_error([&] { check_key_pair(a.public_key, b.secret_key, "server"); });
  EXPECT_THAT(message, HasSubstr("server"));
  EXPECT_THAT(message, HasSubstr("does not belong"));
  // A public key passed as the secret one, and the reverse.
  EXPECT_THROW(check_key_pair(a.public_key, a.public_key, "server"), UsageError);
  EXPECT_THROW(check_key_pair(a.secret_key, a.public_key, "server"), UsageError);
}

TEST(Keys, PairCheckNamesTheBadHalf) {
  const auto a = generate_curve_keypair();
  EXPECT_THAT(usage_error([&] { check_key_pair(a.public_key.substr(1), a.secret_key, "server"); }),
              HasSubstr("server public key"));
  EXPECT_THAT(usage_error([&] { check_key_pair(a.public_key, std::string(40, '0'), "server"); }),
              HasSubstr("server secret key"));
}

TEST(Keys, ValidKeysAreAccepted) {
  EXPECT_TRUE(is_valid_curve_key(known_public));
  EXPECT_TRUE(is_valid_curve_key(known_secret));
  // Every alphabet character is accepted somewhere in a key ("0000" prefixes keep groups small).
  const std::string_view alphabet =
      "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
  for (const char c : alphabet) {
    std::string text = "0000" + std::string(1, c) + std::string(known_public.substr(5));
    EXPECT_TRUE(is_valid_curve_key(text)) << c;
  }
}

TEST(Keys, CurveKeyComparison) {
  const auto a = parse_curve_key(known_public, "a");
  auto b = a;
  EXPECT_EQ(a, b);
  b.bytes[31] ^= 1;
  EXPECT_FALSE(a == b);
  EXPECT_TRUE(CurveKey{}.is_zero());
}

}  // namespace
}  // namespace pseud
