#pragma once
// Layer 6 (plugins): what every ZAP-backed server backend shares: a domain
// of its own, enforced, with its authenticator registered before any bind.

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "pseud/auth.hpp"
#include "security/credentials.hpp"
#include "security/zap_dispatcher.hpp"

namespace pseud::plugins {

/// Registers `authenticator` under a fresh ZAP domain and sets that domain and
/// ZMQ_ZAP_ENFORCE_DOMAIN on the host's socket, so a missing handler refuses
/// clients instead of letting them in. Call from AuthBackend::configure().
std::unique_ptr<security::ZapRegistration> start_zap(AuthHost& host, security::ZapAuthenticator authenticator);
/// The same for an authenticator that may answer later (see register_zap_domain).
std::unique_ptr<security::ZapRegistration> start_zap(AuthHost& host, security::DeferringZapAuthenticator authenticator,
                                                     security::ZapDeferLimits limits);

/// Permissions per user, from settings "permission" = "USER=PERMISSION" (repeatable).
class Permissions {
 public:
  explicit Permissions(const Settings& settings, std::string_view backend);
  /// The predicate arguments of `user`: its name and permissions.
  PredicateArgs arguments_for(const std::string& user) const;

 private:
  std::vector<std::pair<std::string, std::string>> grants_;
};

/// "user" = "LOGIN=PASSWORD" and "user_hash" = "LOGIN=$argon2id$..." settings
/// into a password store; "hash_cost" = "interactive" (default) or "minimal".
void load_users(const Settings& settings, std::string_view backend, security::PasswordStore& store);

/// A server backend whose ZAP handler decides every connection: a connection
/// it let in is authenticated, as the user its User-Id names.
class ZapServerBackend : public AuthBackend {
 public:
  ZapServerBackend(const Settings& settings, std::string_view backend) : permissions_(settings, backend) {}
  void stop() override {
    std::unique_ptr<security::ZapRegistration> retired;
    {
      std::lock_guard lock(zap_mutex_);
      if (zap_) last_counters_ = {zap_->refused_pending(), zap_->expired()};
      retired = std::move(zap_);
    }
  }
  bool authenticates_connections() const noexcept override { return true; }
  bool is_authenticated(const Connection& from) override { return !from.zap_user_id.empty(); }
  PredicateArgs predicate_arguments(const Caller& caller) override { return permissions_.arguments_for(caller.user_id); }

 protected:
  /// Registers `authenticator` (see start_zap); call from configure().
  void serve_zap(AuthHost& host, security::ZapAuthenticator authenticator) {
    auto registration = start_zap(host, std::move(authenticator));
    std::lock_guard lock(zap_mutex_);
    zap_ = std::move(registration);
  }
  void serve_zap(AuthHost& host, security::DeferringZapAuthenticator authenticator, security::ZapDeferLimits limits) {
    auto registration = start_zap(host, std::move(authenticator), limits);
    std::lock_guard lock(zap_mutex_);
    zap_ = std::move(registration);
  }
  /// What the ZAP dispatcher refused for this backend's domain. Thread-safe.
  struct ZapCounters {
    std::uint64_t refused_pending = 0;  ///< too many requests waiting for an answer
    std::uint64_t expired = 0;          ///< no answer in time
  };
  ZapCounters zap_counters() const {
    std::lock_guard lock(zap_mutex_);
    return zap_ ? ZapCounters{zap_->refused_pending(), zap_->expired()} : last_counters_;
  }

 private:
  Permissions permissions_;
  mutable std::mutex zap_mutex_;  // zap_ is read by stats(), from any thread
  std::unique_ptr<security::ZapRegistration> zap_;
  ZapCounters last_counters_;  // of the registration stop() released
};

/// True for "1", "true", "yes" and "on".
bool setting_is_true(const Settings& settings, std::string_view name);

}  // namespace pseud::plugins
