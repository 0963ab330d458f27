#pragma once
// Layer 4 (engine): the 16 random bytes that identify a call.

#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>

namespace pseud::detail {

/// A generated message id (16 bytes from libsodium's CSPRNG, like uuid4().bytes).
struct MessageId {
  std::array<char, 16> bytes{};

  std::string_view view() const noexcept { return {bytes.data(), bytes.size()}; }
  friend bool operator==(const MessageId&, const MessageId&) = default;

  /// Prepares libsodium's generator; call once before generate(). Throws std::runtime_error.
  static void initialise_random();
  /// A fresh random id.
  static MessageId generate() noexcept;
  /// The id in `frame` if it has our length (replies to our calls always do).
  static std::optional<MessageId> from(std::string_view frame) noexcept;
};

struct MessageIdHash {
  std::size_t operator()(const MessageId& id) const noexcept {
    std::uint64_t head;  // the bytes are uniformly random: any 8 make a good hash
    std::memcpy(&head, id.bytes.data(), sizeof head);
    return static_cast<std::size_t>(head);
  }
};

}  // namespace pseud::detail
