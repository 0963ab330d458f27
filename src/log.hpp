#pragma once
// Internal logging front end. Formatting is skipped entirely unless a
// handler is installed and wants the level, so silence costs one load.

#include <atomic>
#include <sstream>
#include <string_view>

#include "pseud/log.hpp"

namespace pseud::detail {

/// True when a handler is installed and accepts `level`.
bool log_enabled(LogLevel level) noexcept;

/// Delivers one record to the installed handler (exceptions from it are swallowed).
void log_write(LogLevel level, std::string_view message) noexcept;

/// Logs the streamed concatenation of `parts`.
template <class... Parts>
void log(LogLevel level, const Parts&... parts) noexcept {
  if (!log_enabled(level)) return;
  try {
    std::ostringstream text;
    (text << ... << parts);
    log_write(level, text.str());
  } catch (...) {
  }
}

}  // namespace pseud::detail
