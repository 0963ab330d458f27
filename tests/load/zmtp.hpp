#pragma once
// Just enough ZMTP 3.1 (https://rfc.zeromq.org/spec/37/) for a client with
// the NULL mechanism: the greeting, the READY command, and frames. Written
// from the specification for the raw-TCP simulated clients.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace pseud::load::zmtp {

inline constexpr std::size_t greeting_size = 64;
inline constexpr std::uint8_t flag_more = 0x01;
inline constexpr std::uint8_t flag_long = 0x02;
inline constexpr std::uint8_t flag_command = 0x04;

/// Our greeting: signature, version 3.1, mechanism NULL, as-server 0, filler.
std::string greeting();

/// True when `bytes` (64 of them) is a ZMTP 3.x greeting offering NULL.
bool valid_greeting(std::string_view bytes);

/// A READY command with the given Socket-Type and Identity properties.
std::string ready(std::string_view socket_type, std::string_view identity);

/// Appends one frame to `out`.
void append_frame(std::string& out, std::string_view body, bool more, bool command = false);

struct Frame {
  std::uint8_t flags = 0;
  std::string_view body;
  bool more() const noexcept { return flags & flag_more; }
  bool command() const noexcept { return flags & flag_command; }
};

/// The frame at the start of `bytes` and how many bytes it takes, or nullopt
/// when `bytes` does not hold all of it yet. Frames over `limit` bytes are
/// reported with an empty body and size 0 (treat as an error).
std::optional<std::pair<Frame, std::size_t>> next_frame(std::string_view bytes, std::uint64_t limit);

/// The value of property `name` in a READY command's body, or nullopt.
std::optional<std::string_view> ready_property(std::string_view command_body, std::string_view name);

}  // namespace pseud::load::zmtp
