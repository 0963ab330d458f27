#include "pseud/passwords.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cmath>

#include "pseud/errors.hpp"

namespace pseud {

CheckLimiter::CheckLimiter(const CheckLimits& limits) : limits_(limits) {
  if (limits_.in_flight == 0 || limits_.in_flight_per_address == 0 || limits_.max_addresses == 0) {
    throw UsageError("password check limits must be at least 1");
  }
  if (!(limits_.per_second_per_address > 0) || !std::isfinite(limits_.per_second_per_address) ||
      !(limits_.burst_per_address >= 1) || !std::isfinite(limits_.burst_per_address)) {
    throw UsageError("password checks per second must be positive, and the burst at least 1");
  }
}

std::string CheckLimiter::address_key(std::string_view address) {
  if (address.find(':') == std::string_view::npos || address.size() >= INET6_ADDRSTRLEN) return std::string(address);
  // "fe80::1%eth0": the zone does not make another host.
  const std::string text(address.substr(0, address.find('%')));
  std::array<unsigned char, 16> bytes{};
  if (::inet_pton(AF_INET6, text.c_str(), bytes.data()) != 1) return std::string(address);
  static constexpr std::array<unsigned char, 12> v4_mapped{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::equal(v4_mapped.begin(), v4_mapped.end(), bytes.begin())) {
    char v4[INET_ADDRSTRLEN];
    if (::inet_ntop(AF_INET, bytes.data() + 12, v4, sizeof v4)) return v4;
  }
  std::fill(bytes.begin() + 8, bytes.end(), 0);  // its /64
  char prefix[INET6_ADDRSTRLEN];
  if (!::inet_ntop(AF_INET6, bytes.data(), prefix, sizeof prefix)) return std::string(address);
  return std::string(prefix) + "/64";
}

void CheckLimiter::refill(Entry& entry, Clock::time_point now) const {
  if (now <= entry.refilled) return;
  const double seconds = std::chrono::duration<double>(now - entry.refilled).count();
  entry.tokens = std::min(limits_.burst_per_address, entry.tokens + seconds * limits_.per_second_per_address);
  entry.refilled = now;
}

bool CheckLimiter::forget_idle(Clock::time_point now) {
  // An address is idle when it has nothing in flight and a full bucket: forgetting it changes nothing.
  const std::size_t before = entries_.size();
  for (auto it = entries_.begin(); it != entries_.end();) {
    refill(it->second, now);
    if (it->second.in_flight == 0 && it->second.tokens >= limits_.burst_per_address) {
      it = entries_.erase(it);
    } else {
      ++it;
    }
  }
  return entries_.size() < before;
}

CheckLimiter::Admission CheckLimiter::admit(std::string_view address, Clock::time_point now) {
  std::string key = address_key(address);
  std::lock_guard lock(mutex_);
  if (in_flight_ >= limits_.in_flight) return Admission::busy;
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    if (entries_.size() >= limits_.max_addresses && !forget_idle(now)) return Admission::busy;
    it = entries_.emplace(std::move(key), Entry{limits_.burst_per_address, now, 0}).first;
  }
  Entry& entry = it->second;
  if (entry.in_flight >= limits_.in_flight_per_address) return Admission::address_busy;
  refill(entry, now);
  if (entry.tokens < 1.0) return Admission::address_too_fast;
  entry.tokens -= 1.0;
  ++entry.in_flight;
  ++in_flight_;
  return Admission::admitted;
}

void CheckLimiter::release(std::string_view address) {
  const std::string key = address_key(address);
  std::lock_guard lock(mutex_);
  if (in_flight_ > 0) --in_flight_;
  if (auto it = entries_.find(key); it != entries_.end() && it->second.in_flight > 0) --it->second.in_flight;
}

std::size_t CheckLimiter::in_flight() const {
  std::lock_guard lock(mutex_);
  return in_flight_;
}

std::size_t CheckLimiter::addresses() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

}  // namespace pseud
