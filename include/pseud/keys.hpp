#pragma once
/// CURVE key helpers. Keys travel as Z85 text: 40 characters for 32 bytes,
/// the form ZeroMQ's curve socket options and Python pseud use.

#include <string>
#include <string_view>

namespace pseud {

/// A CURVE long-term key pair, both halves Z85-encoded (40 characters each).
/// The secret half is as sensitive as a password: never log it.
struct CurveKeyPair {
  std::string public_key;
  std::string secret_key;
};

/// A fresh random key pair. Throws pseud::Error when libzmq was built without CURVE.
CurveKeyPair generate_curve_keypair();

/// The public key belonging to `secret_z85`. Throws pseud::UsageError when
/// `secret_z85` is not a valid Z85 key (wrong length, bad characters, all zero).
std::string curve_public_key(std::string_view secret_z85);

/// True when `z85` is a 40-character canonical Z85 encoding of a non-zero 32-byte key.
bool is_valid_curve_key(std::string_view z85) noexcept;

}  // namespace pseud
