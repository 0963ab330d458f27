#pragma once
// Layer 6 (plugins): the password checks of the plain and untrusted_curve
// servers. A check is a slow hash the client does not pay for, so before one
// runs it is admitted (CheckLimiter: per-server and per-address
// limits, field length caps); it then runs on the process's password-check
// threads (PasswordCheckThreads), never on the ZAP, engine or handler threads.
//
// Server settings (both backends):
//   max_checks (16)                     checks queued or running for this server
//   max_checks_per_address (2)          ... from one source address
//   checks_per_second_per_address (2)   sustained rate from one address
//   check_burst_per_address (4)         checks one address may make at once
// A login over a limit is refused at once, without hashing.

#include <atomic>
#include <memory>
#include <string_view>

#include "pseud/auth.hpp"
#include "pseud/passwords.hpp"

namespace pseud::plugins {

class PasswordChecks {
 public:
  /// The users ("user", "user_hash", "hash_cost") and limits of `settings`.
  /// Throws UsageError on bad settings.
  PasswordChecks(const Settings& settings, std::string_view backend);

  enum class Admission { admitted, busy, by_address, oversize };

  /// May a check of these credentials from `address` run? Counts refusals.
  /// An admitted check must end in verify_admitted() or release().
  Admission admit(std::string_view address, std::size_t login_size, std::size_t password_size);
  /// Runs the admitted check (slow: on a check thread), counts it and releases it.
  bool verify_admitted(std::string_view address, std::string_view login, std::string_view password);
  /// Releases an admitted check that will not run; `busy`: because the check threads' queue was full.
  void release(std::string_view address, bool busy);

  /// Counts a login refused for an over-long login or password found outside admit().
  void count_oversize() noexcept { refused_oversize_.fetch_add(1, std::memory_order_relaxed); }

  const PasswordStore& users() const noexcept { return users_; }
  const CheckLimits& limits() const noexcept { return limiter_.limits(); }
  AuthStats stats() const noexcept;

  /// Why a login was refused, for logs and ZAP status texts.
  static const char* refusal_text(Admission admission) noexcept;

 private:
  PasswordStore users_;
  CheckLimiter limiter_;
  std::atomic<std::uint64_t> checks_{0}, refused_busy_{0}, refused_by_address_{0}, refused_oversize_{0};
};

}  // namespace pseud::plugins
