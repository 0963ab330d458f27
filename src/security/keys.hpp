#pragma once
// Security: CURVE key parsing and checks. Every key pseud++ is given goes
// through parse_curve_key() at configuration time, so a bad key is refused
// with a message naming it instead of failing later inside a handshake.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "pseud/keys.hpp"

namespace pseud::security {

/// Length of a CURVE key in bytes and in Z85 characters.
inline constexpr std::size_t curve_key_size = 32;
inline constexpr std::size_t curve_key_z85_size = 40;

/// A 32-byte CURVE key (public or secret). The bytes are wiped on destruction,
/// so holding a secret key in one leaves no copy behind in freed memory.
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
  std::string_view binary() const noexcept {
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
  }
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

/// Decodes a Z85 key, with the same checks as parse_curve_key().
CurveKey z85_to_key(std::string_view z85, std::string_view what = "CURVE key");

/// The Z85 text of 32 raw bytes (e.g. the client key in a ZAP CURVE request).
/// Throws pseud::UsageError when `bytes` is not exactly 32 bytes long.
std::string key_to_z85(std::span<const std::uint8_t> bytes);
/// Same, for raw bytes held in a string (ZAP frames arrive as strings).
std::string key_to_z85(std::string_view bytes);

/// Throws pseud::UsageError naming `what` unless `secret_key` is the secret
/// half of `public_key`. The comparison is constant-time.
void check_key_pair(const CurveKey& public_key, const CurveKey& secret_key, std::string_view what);
/// Same, parsing both Z85 texts first (errors name "<what> public key" / "<what> secret key").
void check_key_pair(std::string_view public_z85, std::string_view secret_z85, std::string_view what);

/// The public key of `secret_key`.
CurveKey derive_public_key(const CurveKey& secret_key);

}  // namespace pseud::security
