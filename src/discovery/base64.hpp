#pragma once
// Layer 7 (discovery): standard base64 (RFC 4648, padded), as etcd's JSON
// gateway carries keys and values.

#include <optional>
#include <string>
#include <string_view>

namespace pseud::detail::discovery {

std::string base64_encode(std::string_view bytes);

/// The bytes, or nullopt when `text` is not padded standard base64.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace pseud::detail::discovery
