#pragma once
// Monotonic time in nanoseconds. CLOCK_MONOTONIC is system-wide, so stamps
// taken in different processes of one run compare directly.

#include <time.h>

#include <cstdint>

namespace pseud::load {

inline std::int64_t now_ns() noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

inline constexpr std::int64_t ms_to_ns(std::int64_t ms) noexcept { return ms * 1'000'000; }

/// Milliseconds left until `deadline_ns` (0 when past), as a poll(2) timeout.
inline int ms_until(std::int64_t deadline_ns) noexcept {
  const std::int64_t left = deadline_ns - now_ns();
  if (left <= 0) return 0;
  const std::int64_t ms = (left + 999'999) / 1'000'000;
  return ms > 1'000'000 ? 1'000'000 : static_cast<int>(ms);
}

}  // namespace pseud::load
