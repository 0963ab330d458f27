#include "engine/message_id.hpp"

#include <sodium.h>

#include <array>
#include <cstring>
#include <stdexcept>

#include "wire/message.hpp"

namespace pseud::detail {

void MessageId::initialise_random() {
  if (sodium_init() < 0) throw std::runtime_error("pseud: libsodium failed to initialise (sodium_init)");
}

MessageId MessageId::generate() noexcept {
  // randombytes_buf costs a getrandom() system call: take ids 256 at a time.
  // (Ids need only be unique among one peer's calls in flight; a forked
  // child repeating its parent's next ids talks over other connections.)
  constexpr std::size_t ids_per_refill = 256;
  thread_local std::array<unsigned char, ids_per_refill * sizeof(MessageId::bytes)> pool;
  thread_local std::size_t used = pool.size();
  MessageId id;
  if (used == pool.size()) {
    randombytes_buf(pool.data(), pool.size());
    used = 0;
  }
  std::memcpy(id.bytes.data(), pool.data() + used, id.bytes.size());
  used += id.bytes.size();
  return id;
}

std::optional<MessageId> MessageId::from(std::string_view frame) noexcept {
  if (frame.size() != wire::generated_id_size) return std::nullopt;
  MessageId id;
  std::memcpy(id.bytes.data(), frame.data(), id.bytes.size());
  return id;
}

}  // namespace pseud::detail
