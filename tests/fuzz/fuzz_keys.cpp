// Target "keys": CURVE key handling. The input is tried as Z85 text (as
// keys arrive in settings and on the command line), as a raw binary key (as
// the ZAP handler receives a client's key), 80 bytes as two Z85 keys to check
// as a pair, and 32 bytes as a secret key whose public half is derived.
// The library has no hex key form: Z85 and raw bytes are the only two.

#include <algorithm>

#include "fuzz_input.hpp"
#include "fuzz_targets.hpp"
#include "pseud/errors.hpp"
#include "pseud/keys.hpp"

namespace pseud::fuzz {

namespace {

// An error about a key must not quote it: it may be a secret. A message can
// only contain text without spaces in short runs, so this test is exact for
// long texts without spaces.
void require_not_quoted(const UsageError& error, std::string_view text) {
  if (text.size() < 20 || text.find(' ') != std::string_view::npos) return;
  require(std::string_view(error.what()).find(text) == std::string_view::npos, "a key error never quotes the key");
}

void check_z85(std::string_view text) {
  const bool valid = is_valid_curve_key(text);
  try {
    const CurveKey key = parse_curve_key(text, "fuzz key");
    require(valid, "parse_curve_key accepts only what is_valid_curve_key accepts");
    require(text.size() == curve_key_z85_size && !key.is_zero(), "an accepted key is 40 characters and not zero");
    require(key.z85() == text, "an accepted key's Z85 text is the text it came from");
    require(key_to_z85(key.binary()) == text, "raw bytes and Z85 text round-trip");
    require(curve_public_key(text).size() == curve_key_z85_size, "any valid key has a public half");
  } catch (const UsageError& error) {
    require(!valid, "parse_curve_key refuses only what is_valid_curve_key refuses");
    require_not_quoted(error, text);
  }
}

void check_raw(std::string_view bytes) {
  try {
    const std::string z85 = key_to_z85(bytes);
    require(bytes.size() == curve_key_size && z85.size() == curve_key_z85_size, "32 raw bytes are 40 Z85 characters");
    const bool zero = std::all_of(bytes.begin(), bytes.end(), [](char c) { return c == 0; });
    require(is_valid_curve_key(z85) == !zero, "a raw key's Z85 text is valid unless the key is all zeros");
    if (!zero) require(parse_curve_key(z85, "key").binary() == bytes, "a raw key round-trips through Z85");
  } catch (const UsageError&) {
    require(bytes.size() != curve_key_size, "key_to_z85 refuses only lengths other than 32");
  }
}

void check_pair(std::string_view text) {
  if (text.size() != 2 * curve_key_z85_size) return;
  try {
    check_key_pair(text.substr(0, curve_key_z85_size), text.substr(curve_key_z85_size, curve_key_z85_size),
                             "fuzz");
  } catch (const UsageError& error) {
    require_not_quoted(error, text.substr(0, curve_key_z85_size));
    require_not_quoted(error, text.substr(curve_key_z85_size, curve_key_z85_size));
  }
}

void check_derived(std::string_view bytes) {
  if (bytes.size() != curve_key_size) return;  // deriving is slow: only for key-sized inputs
  const CurveKey secret(std::span<const std::uint8_t, curve_key_size>(
      reinterpret_cast<const std::uint8_t*>(bytes.data()), curve_key_size));
  if (secret.is_zero()) return;
  const CurveKey public_key = derive_public_key(secret);
  check_key_pair(public_key, secret, "fuzz");  // throws (and so crashes) if they do not match
  check_key_pair(public_key.z85(), secret.z85(), "fuzz");
  CurveKey other = public_key;
  other.bytes[0] ^= 1;
  bool refused = false;
  try {
    check_key_pair(other, secret, "fuzz");
  } catch (const UsageError&) {
    refused = true;
  }
  require(refused, "a public key that is not the secret key's half is refused");
}

}  // namespace

int fuzz_keys(const std::uint8_t* data, std::size_t size) {
  const std::string_view input = bytes_of(data, size);
  check_z85(input);
  check_raw(input);
  check_pair(input);
  check_derived(input);
  return 0;
}

}  // namespace pseud::fuzz
