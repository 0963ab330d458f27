#pragma once
// Layer 7 (discovery): an InstanceRecord as JSON and back; a record read
// from a backend is hostile input.

#include <optional>
#include <string>
#include <string_view>

#include "pseud/discovery.hpp"

namespace pseud::detail::discovery {

/// The record as one JSON object with every field.
std::string encode_record(const InstanceRecord& record);

/// The record in `text`, or nullopt with `why` set when it is not one:
/// malformed JSON, a missing field or one of the wrong type, a string or
/// the endpoint list beyond the limits, no service, instance or endpoint.
/// Never throws.
std::optional<InstanceRecord> decode_record(std::string_view text, std::string& why) noexcept;

}  // namespace pseud::detail::discovery
