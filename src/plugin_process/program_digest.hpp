#pragma once
// A plugin program pinned by its SHA-256 (go-plugin's SecureConfig): the file
// is opened once, hashed through that descriptor and executed through it, so
// it cannot be swapped between the check and the exec.

#include <string>
#include <string_view>

#include "plugin_process/unique_fd.hpp"

namespace pseud::detail {

/// Opens `path` (close-on-exec) and checks that its SHA-256 is `expected_hex`
/// (64 hex digits, either case) and that it is a binary, not a "#!" script
/// (which the kernel would hand to an interpreter by name, unchecked). Throws
/// PluginError naming both digests on a mismatch.
UniqueFd open_pinned_program(const std::string& path, std::string_view expected_hex);

}  // namespace pseud::detail
