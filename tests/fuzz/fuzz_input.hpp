#pragma once
// What every fuzz target shares: how one input is cut into several byte
// strings (frames, HELLO bodies), and how a broken property stops the run.
//
// Piece format: a length header, then that many bytes. A header byte 0..254
// is the length; 255 means the next two bytes hold it, big-endian. A header
// or a piece cut short by the end of the input takes what remains, so every
// input splits in exactly one way. Bytes after `max_pieces` pieces are ignored.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pseud::fuzz {

/// The input as bytes.
inline std::string_view bytes_of(const std::uint8_t* data, std::size_t size) noexcept {
  return {reinterpret_cast<const char*>(data), size};
}

/// Cuts `input` into at most `max_pieces` pieces (see above). The views point into `input`.
std::vector<std::string_view> split_pieces(std::string_view input, std::size_t max_pieces);

/// The input that split_pieces() cuts into `pieces` (pieces up to 65535 bytes).
std::string join_pieces(const std::vector<std::string>& pieces);

/// Names the input being run, for the message require() prints (replay sets it).
void set_input_label(std::string label);

/// Aborts with `property` and the input label when `holds` is false: libFuzzer
/// keeps the input as a crash, and the replay test fails.
void require(bool holds, std::string_view property);

}  // namespace pseud::fuzz
