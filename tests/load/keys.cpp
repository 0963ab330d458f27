#include "keys.hpp"

#include <zmq.h>

#include <stdexcept>

namespace pseud::load {

KeyPair make_key_pair() {
  char public_text[41];
  char secret_text[41];
  if (zmq_curve_keypair(public_text, secret_text) != 0) throw std::runtime_error("zmq_curve_keypair failed (no CURVE?)");
  KeyPair pair{std::string(32, '\0'), std::string(32, '\0')};
  zmq_z85_decode(reinterpret_cast<std::uint8_t*>(pair.public_key.data()), public_text);
  zmq_z85_decode(reinterpret_cast<std::uint8_t*>(pair.secret_key.data()), secret_text);
  return pair;
}

std::vector<KeyPair> make_key_pairs(std::size_t count) {
  std::vector<KeyPair> pairs;
  pairs.reserve(count);
  for (std::size_t i = 0; i < count; ++i) pairs.push_back(make_key_pair());
  return pairs;
}

std::string z85(std::string_view key) {
  if (key.size() != 32) throw std::runtime_error("a CURVE key is 32 bytes");
  char text[41];
  zmq_z85_encode(text, reinterpret_cast<const std::uint8_t*>(key.data()), key.size());
  return std::string(text, 40);
}

std::string encode_pairs(const std::vector<KeyPair>& pairs, std::size_t first, std::size_t count) {
  std::string blob;
  blob.reserve(count * pair_bytes);
  for (std::size_t i = first; i < first + count; ++i) {
    blob += pairs.at(i).public_key;
    blob += pairs.at(i).secret_key;
  }
  return blob;
}

std::vector<KeyPair> decode_pairs(std::string_view blob) {
  std::vector<KeyPair> pairs;
  pairs.reserve(blob.size() / pair_bytes);
  for (std::size_t at = 0; at + pair_bytes <= blob.size(); at += pair_bytes) {
    pairs.push_back({std::string(blob.substr(at, 32)), std::string(blob.substr(at + 32, 32))});
  }
  return pairs;
}

}  // namespace pseud::load
