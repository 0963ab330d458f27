#pragma once
// Layer 6 (plugins): what the built-in servers that decide handshakes share
// (plain, trusted_curve): a HandshakeGate kept from configure() to stop(),
// permissions per user, users from settings.

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "pseud/auth.hpp"
#include "pseud/handshakes.hpp"
#include "pseud/passwords.hpp"

namespace pseud::plugins {

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
void load_users(const Settings& settings, std::string_view backend, PasswordStore& store);

/// A server backend whose handshake decider decides every connection: a
/// connection it let in is authenticated, as the user its verdict named.
class HandshakeServerBackend : public AuthBackend {
 public:
  HandshakeServerBackend(const Settings& settings, std::string_view backend) : permissions_(settings, backend) {}
  void stop() override {
    std::unique_ptr<HandshakeGate> retired;
    std::lock_guard lock(gate_mutex_);
    if (gate_) last_counters_ = {gate_->refused_pending(), gate_->expired()};
    retired = std::move(gate_);
  }
  bool is_authenticated(const Connection& from) override { return !from.zap_user_id.empty(); }
  PredicateArgs predicate_arguments(const Caller& caller) override { return permissions_.arguments_for(caller.user_id); }

 protected:
  /// Starts deciding handshakes (see decide_handshakes); call from configure().
  template <typename Decider, typename... Limits>
  void decide(AuthHost& host, Decider decider, Limits... limits) {
    auto gate = decide_handshakes(host, std::move(decider), limits...);
    std::lock_guard lock(gate_mutex_);
    gate_ = std::move(gate);
  }
  /// What the gate refused unasked. Thread-safe.
  struct GateCounters {
    std::uint64_t refused_pending = 0;  ///< too many handshakes waiting for an answer
    std::uint64_t expired = 0;          ///< no answer in time
  };
  GateCounters gate_counters() const {
    std::lock_guard lock(gate_mutex_);
    return gate_ ? GateCounters{gate_->refused_pending(), gate_->expired()} : last_counters_;
  }

 private:
  Permissions permissions_;
  mutable std::mutex gate_mutex_;  // gate_ is read by stats(), from any thread
  std::unique_ptr<HandshakeGate> gate_;
  GateCounters last_counters_;  // of the gate stop() released
};

/// True for "1", "true", "yes" and "on".
bool setting_is_true(const Settings& settings, std::string_view name);

}  // namespace pseud::plugins
