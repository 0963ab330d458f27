#pragma once
// The fuzz targets. Each takes one input, drives the library's own code on
// it, checks what must hold, and returns 0 (libFuzzer's convention). None
// opens a socket or starts a thread, and each is deterministic.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace pseud::fuzz {

/// Frame sets: pieces as frames -> decode_frames -> re-encode -> per-type body decoding.
int fuzz_frames(const std::uint8_t* data, std::size_t size);
/// A WORK body -> unpack, decode, registry lookup, argument binding, handler, ERROR mapping, reply.
int fuzz_dispatch(const std::uint8_t* data, std::size_t size);
/// Pieces as HELLO bodies sent to the untrusted_curve server backend after its challenge.
int fuzz_auth(const std::uint8_t* data, std::size_t size);
/// Text as a Z85 CURVE key, bytes as a raw key (ZAP), and key pair checks.
int fuzz_keys(const std::uint8_t* data, std::size_t size);
/// Text through the tool's JSON codec, and JSON -> msgpack -> JSON round trips.
int fuzz_json(const std::uint8_t* data, std::size_t size);
/// Events-socket messages (SUB, ACK, NACK, events) and subscription patterns.
int fuzz_events(const std::uint8_t* data, std::size_t size);
/// One msgpack value decoded into typed commands and tagged ones (command.hpp), re-encoded, and as a handler's argument and a reply.
int fuzz_commands(const std::uint8_t* data, std::size_t size);

using TargetFunction = int (*)(const std::uint8_t*, std::size_t);

struct Target {
  std::string_view name;  ///< also the folder name under corpus/ and regressions/
  TargetFunction run;
};

inline constexpr std::array<Target, 7> targets{{
    {"frames", fuzz_frames},
    {"dispatch", fuzz_dispatch},
    {"auth", fuzz_auth},
    {"keys", fuzz_keys},
    {"json", fuzz_json},
    {"events", fuzz_events},
    {"commands", fuzz_commands},
}};

}  // namespace pseud::fuzz
