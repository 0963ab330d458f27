#pragma once
/// CURVE key helpers. Keys travel as Z85 text: 40 characters for 32 bytes,
/// the form ZeroMQ's curve socket options and Python pseud use.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
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

/// Length of a CURVE key in bytes and in Z85 characters.
inline constexpr std::size_t curve_key_size = 32;
inline constexpr std::size_t curve_key_z85_size = 40;

/// A 32-byte CURVE key (public or secret), for backends that set keys on a
/// socket or compare them. The bytes are wiped on destruction, so holding a
/// secret key in one leaves no copy behind in freed memory.
struct CurveKey {
  std::array<std::uint8_t, curve_key_size> bytes{};

  CurveKey() = default;
  explicit CurveKey(std::span<const std::uint8_t, curve_key_size> raw) noexcept;
  CurveKey(const CurveKey&) = default;
  CurveKey& operator=(const CurveKey&) = default;
  ~CurveKey();

  /// The 40-character Z85 text of the key.
  std::string z85() const;
  /// The raw bytes, as zmq::sockopt::curve_* accept them.
  std::string_view binary() const noexcept { return {reinterpret_cast<const char*>(bytes.data()), bytes.size()}; }
  /// True when every byte is zero.
  bool is_zero() const noexcept;
  /// Constant-time comparison.
  friend bool operator==(const CurveKey& a, const CurveKey& b) noexcept;
};

/// Parses a Z85 key. Throws pseud::UsageError naming `what` (e.g. "server
/// public key") when the text is not 40 characters, has a character outside
/// the Z85 alphabet, is not a canonical encoding, or decodes to all zeros.
/// The message never quotes the key text itself (it may be a secret).
CurveKey parse_curve_key(std::string_view z85, std::string_view what);

/// The Z85 text of 32 raw bytes (e.g. a client key as a handshake carries it).
/// Throws pseud::UsageError when `bytes` is not exactly 32 bytes long.
std::string key_to_z85(std::span<const std::uint8_t> bytes);
/// Same, for raw bytes held in a string.
std::string key_to_z85(std::string_view bytes);

/// The public key of `secret_key`.
CurveKey derive_public_key(const CurveKey& secret_key);

/// Throws pseud::UsageError naming `what` unless `secret_key` is the secret
/// half of `public_key`. The comparison is constant-time.
void check_key_pair(const CurveKey& public_key, const CurveKey& secret_key, std::string_view what);
/// Same, parsing both Z85 texts first (errors name "<what> public key" / "<what> secret key").
void check_key_pair(std::string_view public_z85, std::string_view secret_z85, std::string_view what);

}  // namespace pseud
