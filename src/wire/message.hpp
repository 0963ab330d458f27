#pragma once
// Layer 1 (wire): the pseud v1 message model. Pure values, no sockets.

#include <cstdint>
#include <optional>
#include <string_view>

namespace pseud::wire {

/// The version frame every v1 message carries.
inline constexpr std::string_view protocol_version = "v1";

/// Message ids are echoed verbatim; longer ones are refused so a peer cannot
/// make us hold or echo arbitrarily large ids.
inline constexpr std::size_t max_id_size = 255;

/// Length of the ids this library generates (as Python's uuid4().bytes).
inline constexpr std::size_t generated_id_size = 16;

/// The seven type bytes of pseud v1 (0x05 is unused by the protocol).
enum class MessageType : std::uint8_t {
  ok = 0x01,
  hello = 0x02,
  work = 0x03,
  authenticated = 0x04,
  heartbeat = 0x06,
  error = 0x10,
  unauthorized = 0x11,
};

/// The type for a type byte, or nullopt when the byte is not a v1 type.
std::optional<MessageType> message_type_from_byte(std::uint8_t byte) noexcept;

/// Upper-case protocol name of a type ("WORK", "OK", ...), for logs.
std::string_view message_type_name(MessageType type) noexcept;

/// One message, as views into frames owned by the caller.
struct Message {
  std::string_view id;
  MessageType type{MessageType::work};
  std::string_view body;
};

/// How a message was framed.
enum class Form {
  router,  ///< [routing id, "", "v1", id, type, body] as seen on a ROUTER socket
  req,     ///< ["v1", id, type, body] as seen on a REQ socket
  probe,   ///< [routing id, ""]: the PROBE_ROUTER greeting, no message
};

/// A decoded frame set: who sent it (empty for the REQ form) and what.
struct Envelope {
  Form form{Form::router};
  std::string_view routing_id;
  Message message;
};

}  // namespace pseud::wire
