#pragma once
// Security: who may have a password checked, and how often. Every login a
// server checks costs it a slow hash, and the client pays nothing for a
// wrong password, so the checks of one server are admitted here first:
//   - at most `in_flight` checks queued or running, all clients together;
//   - per source address, at most `in_flight_per_address` at a time, and
//     `per_second_per_address` on average (a token bucket of `burst`).
// A login over a limit is refused at once, without hashing. Addresses are
// keyed as given, except IPv6 ones, which are keyed by their /64 (one host
// commonly holds a whole /64); an IPv4-mapped IPv6 address is its IPv4 one.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace pseud::security {

/// The bounds one server puts on its password checks and the credentials it hashes.
struct CheckLimits {
  std::size_t in_flight = 16;             ///< checks queued or running, all addresses
  std::size_t in_flight_per_address = 2;  ///< ... from one source address
  double per_second_per_address = 2.0;    ///< sustained checks per second from one address
  double burst_per_address = 4.0;         ///< checks one address may make at once after a quiet spell
  std::size_t max_addresses = 4096;       ///< addresses remembered; idle ones are forgotten first
  std::size_t max_login = 256;            ///< longest login hashed (bytes)
  std::size_t max_password = 1024;        ///< longest password hashed (bytes)
};

/// Admission of password checks under CheckLimits. Thread-safe.
class CheckLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  enum class Admission {
    admitted,
    busy,              ///< `in_flight` checks already, or too many addresses to remember
    address_busy,      ///< `in_flight_per_address` checks already from this address
    address_too_fast,  ///< this address has spent its rate
  };

  /// Throws pseud::UsageError when a limit is zero (or the rate not positive).
  explicit CheckLimiter(const CheckLimits& limits);

  /// Admits one check from `address` (a client's IP address as text; "" when
  /// unknown) at `now`. Every admitted check must be release()d once.
  Admission admit(std::string_view address, Clock::time_point now = Clock::now());
  /// The check admitted for `address` is over.
  void release(std::string_view address);

  const CheckLimits& limits() const noexcept { return limits_; }
  /// Checks admitted and not yet released.
  std::size_t in_flight() const;
  /// Addresses remembered now.
  std::size_t addresses() const;

  /// The key an address is counted under (see the top of this file).
  static std::string address_key(std::string_view address);

 private:
  struct Entry {
    double tokens = 0;
    Clock::time_point refilled{};
    std::size_t in_flight = 0;
  };
  void refill(Entry& entry, Clock::time_point now) const;
  bool forget_idle(Clock::time_point now);

  const CheckLimits limits_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Entry> entries_;
  std::size_t in_flight_ = 0;
};

}  // namespace pseud::security
