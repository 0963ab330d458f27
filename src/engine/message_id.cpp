#include "engine/message_id.hpp"

#include <sodium.h>

#include <stdexcept>

#include "wire/message.hpp"

namespace pseud::detail {

void MessageId::initialise_random() {
  if (sodium_init() < 0) throw std::runtime_error("pseud: libsodium failed to initialise (sodium_init)");
}

MessageId MessageId::generate() noexcept {
  MessageId id;
  randombytes_buf(id.bytes.data(), id.bytes.size());
  return id;
}

std::optional<MessageId> MessageId::from(std::string_view frame) noexcept {
  if (frame.size() != wire::generated_id_size) return std::nullopt;
  MessageId id;
  std::memcpy(id.bytes.data(), frame.data(), id.bytes.size());
  return id;
}

}  // namespace pseud::detail
