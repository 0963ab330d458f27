#include "pseud/keys.hpp"

#include <sodium.h>
#include <zmq.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "pseud/errors.hpp"

namespace pseud {

namespace {

// The 85 characters of ZeroMQ's Z85 alphabet (RFC 32), in value order.
constexpr std::string_view z85_alphabet =
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

enum class KeyProblem { none, length, alphabet, not_canonical, all_zero };

// A NUL-terminated copy of Z85 text, as the C API wants it; wiped on destruction.
struct Z85Buffer {
  std::array<char, curve_key_z85_size + 1> text{};
  ~Z85Buffer() { sodium_memzero(text.data(), text.size()); }
};

bool in_alphabet(char c) noexcept { return z85_alphabet.find(c) != std::string_view::npos; }

// Decodes into `key` and reports the first problem found. Never throws.
KeyProblem decode(std::string_view z85, CurveKey& key) noexcept {
  if (z85.size() != curve_key_z85_size) return KeyProblem::length;
  if (!std::all_of(z85.begin(), z85.end(), in_alphabet)) return KeyProblem::alphabet;
  Z85Buffer input;
  std::copy(z85.begin(), z85.end(), input.text.begin());
  if (zmq_z85_decode(key.bytes.data(), input.text.data()) == nullptr) return KeyProblem::not_canonical;
  // A 5-character group can spell values above 2^32 - 1, which the decoder
  // would wrap; only text that re-encodes to itself is a key's encoding.
  Z85Buffer again;
  if (zmq_z85_encode(again.text.data(), key.bytes.data(), key.bytes.size()) == nullptr ||
      sodium_memcmp(again.text.data(), input.text.data(), curve_key_z85_size) != 0) {
    return KeyProblem::not_canonical;
  }
  if (key.is_zero()) return KeyProblem::all_zero;
  return KeyProblem::none;
}

[[noreturn]] void refuse(KeyProblem problem, std::string_view z85, std::string_view what) {
  std::string message(what);
  switch (problem) {
    case KeyProblem::length:
      message += " must be " + std::to_string(curve_key_z85_size) + " Z85 characters (" +
                 std::to_string(curve_key_size) + " bytes), got " + std::to_string(z85.size());
      break;
    case KeyProblem::alphabet: {
      const auto at = static_cast<std::size_t>(std::find_if_not(z85.begin(), z85.end(), in_alphabet) - z85.begin());
      message += " has a character outside the Z85 alphabet at position " + std::to_string(at);
      break;
    }
    case KeyProblem::not_canonical:
      message += " is not a valid Z85 encoding (a 5-character group exceeds 32 bits)";
      break;
    case KeyProblem::all_zero:
      message += " is all zeros, which is not a usable CURVE key";
      break;
    case KeyProblem::none:
      break;
  }
  throw UsageError(message);
}

}  // namespace

CurveKey::CurveKey(std::span<const std::uint8_t, curve_key_size> raw) noexcept {
  std::copy(raw.begin(), raw.end(), bytes.begin());
}

CurveKey::~CurveKey() { sodium_memzero(bytes.data(), bytes.size()); }

std::string CurveKey::z85() const {
  Z85Buffer out;
  if (zmq_z85_encode(out.text.data(), bytes.data(), bytes.size()) == nullptr) {
    throw Error("pseud: zmq_z85_encode failed");  // cannot happen for 32 bytes
  }
  return std::string(out.text.data(), curve_key_z85_size);
}

bool CurveKey::is_zero() const noexcept { return sodium_is_zero(bytes.data(), bytes.size()) == 1; }

bool operator==(const CurveKey& a, const CurveKey& b) noexcept {
  return sodium_memcmp(a.bytes.data(), b.bytes.data(), a.bytes.size()) == 0;
}

CurveKey parse_curve_key(std::string_view z85, std::string_view what) {
  CurveKey key;
  if (const auto problem = decode(z85, key); problem != KeyProblem::none) refuse(problem, z85, what);
  return key;
}

std::string key_to_z85(std::span<const std::uint8_t> bytes) {
  if (bytes.size() != curve_key_size) {
    throw UsageError("a binary CURVE key must be " + std::to_string(curve_key_size) + " bytes, got " +
                     std::to_string(bytes.size()));
  }
  return CurveKey(bytes.first<curve_key_size>()).z85();
}

std::string key_to_z85(std::string_view bytes) {
  return key_to_z85(std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
}

CurveKey derive_public_key(const CurveKey& secret_key) {
  Z85Buffer secret;
  Z85Buffer derived;
  if (zmq_z85_encode(secret.text.data(), secret_key.bytes.data(), secret_key.bytes.size()) == nullptr) {
    throw Error("pseud: zmq_z85_encode failed");
  }
  if (zmq_curve_public(derived.text.data(), secret.text.data()) != 0) {
    throw Error(std::string("pseud: zmq_curve_public failed: ") + zmq_strerror(zmq_errno()));
  }
  CurveKey key;
  if (zmq_z85_decode(key.bytes.data(), derived.text.data()) == nullptr) throw Error("pseud: zmq_z85_decode failed");
  return key;
}

void check_key_pair(const CurveKey& public_key, const CurveKey& secret_key, std::string_view what) {
  if (derive_public_key(secret_key) == public_key) return;
  throw UsageError(std::string(what) + ": the secret key does not belong to the public key");
}

void check_key_pair(std::string_view public_z85, std::string_view secret_z85, std::string_view what) {
  const std::string name(what);
  check_key_pair(parse_curve_key(public_z85, name + " public key"), parse_curve_key(secret_z85, name + " secret key"),
                 what);
}

CurveKeyPair generate_curve_keypair() {
  Z85Buffer public_key;
  Z85Buffer secret_key;
  if (zmq_curve_keypair(public_key.text.data(), secret_key.text.data()) != 0) {
    const int error = zmq_errno();
    throw Error(std::string("pseud: cannot generate a CURVE key pair: ") + zmq_strerror(error) +
                (error == ENOTSUP ? " (libzmq was built without CURVE support)" : ""));
  }
  return {std::string(public_key.text.data(), curve_key_z85_size),
          std::string(secret_key.text.data(), curve_key_z85_size)};
}

std::string curve_public_key(std::string_view secret_z85) {
  return derive_public_key(parse_curve_key(secret_z85, "CURVE secret key")).z85();
}

bool is_valid_curve_key(std::string_view z85) noexcept {
  CurveKey key;
  return decode(z85, key) == KeyProblem::none;
}

}  // namespace pseud
