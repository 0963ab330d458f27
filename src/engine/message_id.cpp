#include "engine/message_id.hpp"

#include <sodium.h>

#include "wire/message.hpp"

namespace pseud::detail {

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
