#include "wire/frames.hpp"

namespace pseud::wire {

namespace {

// One static byte per type so that type frames can be views.
constexpr std::array<char, 7> type_bytes{0x01, 0x02, 0x03, 0x04, 0x06, 0x10, 0x11};

std::variant<Message, FrameError> decode_message(std::string_view version, std::string_view id,
                                                 std::string_view type, std::string_view body) noexcept {
  if (version != protocol_version) return FrameError::bad_version;
  if (type.size() != 1) return FrameError::bad_type_frame;
  const auto parsed = message_type_from_byte(static_cast<std::uint8_t>(type[0]));
  if (!parsed) return FrameError::unknown_type;
  if (id.size() > max_id_size) return FrameError::id_too_long;
  return Message{id, *parsed, body};
}

}  // namespace

std::optional<MessageType> message_type_from_byte(std::uint8_t byte) noexcept {
  switch (byte) {
    case 0x01: return MessageType::ok;
    case 0x02: return MessageType::hello;
    case 0x03: return MessageType::work;
    case 0x04: return MessageType::authenticated;
    case 0x06: return MessageType::heartbeat;
    case 0x10: return MessageType::error;
    case 0x11: return MessageType::unauthorized;
    default: return std::nullopt;
  }
}

std::string_view message_type_name(MessageType type) noexcept {
  switch (type) {
    case MessageType::ok: return "OK";
    case MessageType::hello: return "HELLO";
    case MessageType::work: return "WORK";
    case MessageType::authenticated: return "AUTHENTICATED";
    case MessageType::heartbeat: return "HEARTBEAT";
    case MessageType::error: return "ERROR";
    case MessageType::unauthorized: return "UNAUTHORIZED";
  }
  return "?";
}

std::string_view frame_error_text(FrameError error) noexcept {
  switch (error) {
    case FrameError::frame_count: return "wrong frame count (expected 2, 4 or 6)";
    case FrameError::missing_delimiter: return "missing empty delimiter frame";
    case FrameError::empty_routing_id: return "empty routing id";
    case FrameError::bad_version: return "version frame is not \"v1\"";
    case FrameError::bad_type_frame: return "type frame is not one byte";
    case FrameError::unknown_type: return "unknown message type byte";
    case FrameError::id_too_long: return "message id longer than 255 bytes";
  }
  return "?";
}

std::variant<Envelope, FrameError> decode_frames(std::span<const std::string_view> frames) noexcept {
  switch (frames.size()) {
    case 2: {
      if (frames[0].empty()) return FrameError::empty_routing_id;
      if (!frames[1].empty()) return FrameError::missing_delimiter;
      return Envelope{Form::probe, frames[0], Message{}};
    }
    case 4: {
      auto message = decode_message(frames[0], frames[1], frames[2], frames[3]);
      if (auto* error = std::get_if<FrameError>(&message)) return *error;
      return Envelope{Form::req, {}, std::get<Message>(message)};
    }
    case 6: {
      if (frames[0].empty()) return FrameError::empty_routing_id;
      if (!frames[1].empty()) return FrameError::missing_delimiter;
      auto message = decode_message(frames[2], frames[3], frames[4], frames[5]);
      if (auto* error = std::get_if<FrameError>(&message)) return *error;
      return Envelope{Form::router, frames[0], std::get<Message>(message)};
    }
    default:
      return FrameError::frame_count;
  }
}

std::string_view type_frame(MessageType type) noexcept {
  const auto byte = static_cast<char>(type);
  for (const char& candidate : type_bytes) {
    if (candidate == byte) return {&candidate, 1};
  }
  return {};
}

std::array<std::string_view, 6> router_frames(std::string_view routing_id, const Message& message) noexcept {
  return {routing_id, std::string_view{}, protocol_version, message.id, type_frame(message.type), message.body};
}

std::array<std::string_view, 4> req_frames(const Message& message) noexcept {
  return {protocol_version, message.id, type_frame(message.type), message.body};
}

}  // namespace pseud::wire
