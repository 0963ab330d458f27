#pragma once
// CURVE keys for the load run: the orchestrator makes one pair for the
// server and one per simulated peer, and hands them to the processes over
// their stdin as raw 32-byte halves (a blob of pairs), not as 10 000 argv words.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace pseud::load {

struct KeyPair {
  std::string public_key;  ///< 32 bytes
  std::string secret_key;  ///< 32 bytes
};

/// A fresh random pair (libzmq's zmq_curve_keypair); throws std::runtime_error.
KeyPair make_key_pair();

/// `count` fresh pairs.
std::vector<KeyPair> make_key_pairs(std::size_t count);

/// 40-character Z85 text of a 32-byte key.
std::string z85(std::string_view key);

/// Pairs as one blob: public then secret, 64 bytes per pair.
std::string encode_pairs(const std::vector<KeyPair>& pairs, std::size_t first, std::size_t count);

/// The pairs of a blob encode_pairs() wrote.
std::vector<KeyPair> decode_pairs(std::string_view blob);

inline constexpr std::size_t pair_bytes = 64;

}  // namespace pseud::load
