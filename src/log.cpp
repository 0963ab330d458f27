#include "log.hpp"

#include <atomic>
#include <memory>
#include <mutex>

namespace pseud {

namespace {

struct Sink {
  std::mutex mutex;
  std::shared_ptr<const LogHandler> handler;
  std::atomic<int> minimum{static_cast<int>(LogLevel::error) + 1};  // above every level: silent
};

Sink& sink() {
  static Sink instance;
  return instance;
}

}  // namespace

void set_log_handler(LogHandler handler, LogLevel minimum) {
  Sink& s = sink();
  std::lock_guard lock(s.mutex);
  const bool silent = !handler;
  s.handler = silent ? nullptr : std::make_shared<const LogHandler>(std::move(handler));
  s.minimum.store(silent ? static_cast<int>(LogLevel::error) + 1 : static_cast<int>(minimum));
}

std::string_view log_level_name(LogLevel level) noexcept {
  switch (level) {
    case LogLevel::debug: return "debug";
    case LogLevel::info: return "info";
    case LogLevel::warning: return "warning";
    case LogLevel::error: return "error";
  }
  return "?";
}

bool log_enabled(LogLevel level) noexcept {
  return static_cast<int>(level) >= sink().minimum.load(std::memory_order_relaxed);
}

void log_write(LogLevel level, std::string_view message) noexcept {
  Sink& s = sink();
  std::shared_ptr<const LogHandler> handler;
  {
    std::lock_guard lock(s.mutex);
    handler = s.handler;
  }
  if (!handler) return;
  try {
    (*handler)(level, message);
  } catch (...) {
  }
}

}  // namespace pseud
