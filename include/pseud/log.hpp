#pragma once
/// Logging: one process-wide, user-settable callback. Silent by default.

#include <functional>
#include <sstream>
#include <string_view>

namespace pseud {

/// Severity of a log record.
enum class LogLevel { debug, info, warning, error };

/// Receives every log record. Called from library threads; must be thread-safe and quick.
using LogHandler = std::function<void(LogLevel level, std::string_view message)>;

/// Installs `handler` (an empty function restores silence) and the lowest level it receives.
/// Thread-safe.
void set_log_handler(LogHandler handler, LogLevel minimum = LogLevel::info);

/// Name of a level ("debug", "info", "warning", "error").
std::string_view log_level_name(LogLevel level) noexcept;

/// True when a handler is installed and accepts `level`: one atomic load.
bool log_enabled(LogLevel level) noexcept;

/// Delivers one record to the installed handler; what the handler throws is swallowed.
void log_write(LogLevel level, std::string_view message) noexcept;

/// Logs the streamed concatenation of `parts` through the installed handler,
/// as pseud++ itself does (for backends and plugins). Formats nothing unless
/// a handler wants `level`.
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

}  // namespace pseud
