#pragma once
/// Logging: one process-wide, user-settable callback. Silent by default.

#include <functional>
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

}  // namespace pseud
