#pragma once
// The pseud v1 frames the simulated clients and the raw floor server speak
// (protocol/README.md): ROUTER form [routing id, "", "v1", id, type, body].
// The WORK body is packed by pseud++'s own pack_call, so it is byte for byte
// what a pseud::Client sends for echo(payload).

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "pseud/detail/outgoing_call.hpp"

namespace pseud::load {

inline constexpr std::string_view server_name = "server";
inline constexpr std::string_view version = "v1";
inline constexpr char type_ok = 0x01;
inline constexpr char type_work = 0x03;
inline constexpr char type_heartbeat = 0x06;
inline constexpr char type_error = 0x10;
inline constexpr std::size_t id_size = 16;

/// The function every load server registers.
inline constexpr std::string_view function = "echo";

/// The bytes every call sends: `size` bytes (Python bytes, msgpack bin).
inline pseud::Bytes payload_bytes(std::size_t size) {
  std::string data(size, '\0');
  for (std::size_t i = 0; i < size; ++i) data[i] = static_cast<char>('a' + i % 26);
  return pseud::Bytes(std::move(data));
}

/// WORK body of echo(payload): [ "echo", [payload], {} ].
inline std::string work_body(std::size_t payload) {
  const auto call = pseud::detail::pack_call("", function, payload_bytes(payload));
  return {call.body.data(), call.body.size()};
}

/// OK body of the reply: the payload itself, packed alone.
inline std::string ok_body(std::size_t payload) {
  pseud::detail::WireBuffer buffer;
  msgpack::packer<pseud::detail::WireBuffer>(buffer).pack(payload_bytes(payload));
  return {buffer.data(), buffer.size()};
}

/// A 16-byte message id from a client number and its call sequence.
inline std::string message_id(std::uint32_t client, std::uint64_t sequence) {
  std::string id(id_size, '\0');
  std::memcpy(id.data(), &client, sizeof client);
  std::memcpy(id.data() + 4, &sequence, sizeof sequence);
  id[12] = 'L';  // recognisable in captures
  return id;
}

}  // namespace pseud::load
