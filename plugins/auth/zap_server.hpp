#pragma once
// Layer 6 (plugins): what every ZAP-backed server backend shares: a domain
// of its own, enforced, with its authenticator registered before any bind.

#include <memory>
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

/// True for "1", "true", "yes" and "on".
bool setting_is_true(const Settings& settings, std::string_view name);

}  // namespace pseud::plugins
