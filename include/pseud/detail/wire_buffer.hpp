#pragma once
/// Installed internals: the buffer every pseud++ message is packed into.
///
/// msgpack-c 4.x packs a double whose value is whole (2.0) as an integer
/// (2), and so turns a float received from a Python peer into an int when it
/// is echoed back. Python pseud always sends floats as float64. Packing into
/// WireBuffer keeps that: its packer writes every float as float64, and
/// every value packed on pseud++'s behalf goes through it.

#include <cstdint>
#include <cstring>

#include <msgpack.hpp>

namespace pseud::detail {

/// An sbuffer whose packer keeps floats as floats (see above).
class WireBuffer : public msgpack::sbuffer {
 public:
  explicit WireBuffer(std::size_t initial = MSGPACK_SBUFFER_INIT_SIZE) : msgpack::sbuffer(initial) {}
};

/// Writes `value` as msgpack float64 (0xcb, big-endian IEEE 754).
inline void write_float64(WireBuffer& out, double value) {
  std::uint64_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  char bytes[9];
  bytes[0] = static_cast<char>(0xcb);
  for (int i = 0; i < 8; ++i) bytes[1 + i] = static_cast<char>(bits >> (56 - 8 * i));
  out.write(bytes, sizeof bytes);
}

}  // namespace pseud::detail

namespace msgpack {
namespace v1 {

// Explicit specializations for pseud's own stream type only: no other code
// can have instantiated these before, so they are the one definition.
template <>
inline packer<pseud::detail::WireBuffer>& packer<pseud::detail::WireBuffer>::pack_double(double d) {
  pseud::detail::write_float64(m_stream, d);
  return *this;
}

template <>
inline packer<pseud::detail::WireBuffer>& packer<pseud::detail::WireBuffer>::pack_float(float d) {
  // Python has no float32: widen, as a Python peer would read it anyway.
  pseud::detail::write_float64(m_stream, static_cast<double>(d));
  return *this;
}

}  // namespace v1
}  // namespace msgpack
