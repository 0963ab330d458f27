#pragma once
/// Passwords for authentication backends: a store of password hashes, the
/// limits a server puts on checking them, and the threads the checks run on.
/// The built-in "plain" and "untrusted_curve" backends are made of these;
/// a backend of your own may use them the same way (see handshakes.hpp for
/// deciding a PLAIN handshake with them).
///
/// Checking a password is slow and memory-hungry on purpose (argon2id,
/// ~130 ms and 64 MiB at the interactive cost) and the client pays nothing
/// for a wrong guess, so a server admits each check first (CheckLimiter) and
/// runs it on the process's password-check threads (PasswordCheckThreads),
/// never on the ZAP, engine or handler threads.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace pseud {

/// How expensive a new password hash is.
enum class HashCost {
  interactive,  ///< crypto_pwhash_OPSLIMIT/MEMLIMIT_INTERACTIVE (64 MiB, the libsodium default for logins)
  minimal,      ///< crypto_pwhash_OPSLIMIT/MEMLIMIT_MIN: for tests and very low-power devices only
};

/// Logins and their argon2id password hashes (libsodium crypto_pwhash_str);
/// passwords themselves are never kept. Logins and passwords are byte
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

// Who may have a password checked, and how often. The checks of one server
// are admitted first:
//   - at most `in_flight` checks queued or running, all clients together;
//   - per source address, at most `in_flight_per_address` at a time, and
//     `per_second_per_address` on average (a token bucket of `burst`).
// A login over a limit is refused at once, without hashing. Addresses are
// keyed as given, except IPv6 ones, which are keyed by their /64 (one host
// commonly holds a whole /64); an IPv4-mapped IPv6 address is its IPv4 one.

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

/// The process's password-check threads (half the cores, at least 1, at most
/// 2, running at a lower priority) and their bounded queue (32 checks beyond
/// those running). Every copy is a handle on the same threads; they are made
/// with the first handle and joined when the last one goes.
class PasswordCheckThreads {
 public:
  PasswordCheckThreads();
  /// Queues `check` to run on one of the threads. False, with `check`
  /// destroyed here unrun, when the queue is full: refuse the login. A check
  /// that throws is logged and forgotten. `check` must own what it uses.
  bool try_post(std::function<void()> check) const;

 private:
  std::shared_ptr<void> pool_;
};

}  // namespace pseud
