#pragma once
// Security: a login -> password-hash table for PLAIN authentication. Only
// libsodium argon2id hashes (crypto_pwhash_str) are kept, never passwords.

#include <cstddef>
#include <map>
#include <shared_mutex>
#include <string>
#include <string_view>

namespace pseud::security {

/// How expensive a new password hash is.
enum class HashCost {
  interactive,  ///< crypto_pwhash_OPSLIMIT/MEMLIMIT_INTERACTIVE (64 MiB, the libsodium default for logins)
  minimal,      ///< crypto_pwhash_OPSLIMIT/MEMLIMIT_MIN: for tests and very low-power devices only
};

/// Logins and their argon2id password hashes. Logins and passwords are byte
/// strings: any content, embedded NULs included.
///
/// Thread safety: every member may be called concurrently from any threads
/// (a shared_mutex guards the table; a hash is verified after the lock is
/// released, so an add_*() never waits for a running verify()).
class PasswordStore {
 public:
  /// Throws pseud::Error when libsodium cannot be initialised.
  PasswordStore();

  /// Hashes `password` and stores it for `login` (replacing an earlier entry).
  /// Throws pseud::Error when hashing fails (out of memory).
  void add_password(std::string login, std::string_view password, HashCost cost = HashCost::interactive);

  /// Stores a hash computed elsewhere by crypto_pwhash_str() (a "$argon2id$v=19$m=...,t=...,p=...$...$..."
  /// string). Throws pseud::UsageError, without quoting it, when `hash` is not one.
  void add_hash(std::string login, std::string hash);

  /// True when `login` exists and `password` matches its hash. For an unknown
  /// login a dummy hash of the same cost as the most expensive stored one is
  /// verified instead, so the time taken does not tell which logins exist.
  bool verify(std::string_view login, std::string_view password) const;

  bool contains(std::string_view login) const;
  std::size_t size() const;

 private:
  // Argon2 parameters of a stored hash.
  struct Cost {
    unsigned long long ops = 0;  // t: passes over memory
    std::size_t memory = 0;      // m, in bytes
    double work() const noexcept { return static_cast<double>(ops) * static_cast<double>(memory); }
  };

  static Cost parse_cost(std::string_view hash);

  void store(std::string login, std::string hash, const Cost& cost);

  mutable std::shared_mutex mutex_;
  std::map<std::string, std::string, std::less<>> hashes_;
  std::string dummy_hash_;
  Cost dummy_cost_;
};

}  // namespace pseud::security
