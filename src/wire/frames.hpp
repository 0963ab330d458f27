#pragma once
// Layer 1 (wire): frame-level codec. Decoding validates everything but the
// body, which bodies.hpp decodes once the type is known.

#include <array>
#include <span>
#include <string>
#include <string_view>
#include <variant>

#include "wire/message.hpp"

namespace pseud::wire {

/// Why a frame set was refused.
enum class FrameError {
  frame_count,        ///< neither 2 (probe), 4 (REQ) nor 6 (ROUTER) frames
  missing_delimiter,  ///< the frame after the routing id is not empty
  empty_routing_id,   ///< a ROUTER frame set without a sender
  bad_version,        ///< the version frame is not "v1"
  bad_type_frame,     ///< the type frame is not exactly one byte
  unknown_type,       ///< the type byte is not one of the seven v1 types
  id_too_long,        ///< the id frame is longer than max_id_size
};

/// Human-readable reason, for logs and errors.
std::string_view frame_error_text(FrameError error) noexcept;

/// Decodes a received frame set. The result views into `frames`.
std::variant<Envelope, FrameError> decode_frames(std::span<const std::string_view> frames) noexcept;

/// The six frames of `message` sent to `routing_id` over a ROUTER socket.
/// The views point into the arguments and into static storage.
std::array<std::string_view, 6> router_frames(std::string_view routing_id, const Message& message) noexcept;

/// The four frames of `message` as a REQ socket sends and receives it.
std::array<std::string_view, 4> req_frames(const Message& message) noexcept;

/// The one-byte type frame for `type` (static storage).
std::string_view type_frame(MessageType type) noexcept;

}  // namespace pseud::wire
