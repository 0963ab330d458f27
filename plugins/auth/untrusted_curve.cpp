// The "untrusted_curve" authentication backend, wire-compatible with pseud's:
// CURVE encrypts every connection whatever its key, then the client proves
// who it is in band:
//   WORK -> UNAUTHORIZED "Authentication Required" -> HELLO [bin login, bin password]
//   -> AUTHENTICATED "Welcome b'<login>'" (or UNAUTHORIZED "Authentication Error")
//   -> the client re-sends its WORK, same id and bytes.
// The key is then trusted and bound to the login: later connections with it
// are authenticated at the handshake, and the User-Id seen on the connection
// is the login.
// Server settings: secret_key, user=LOGIN=PASSWORD / user_hash=LOGIN=HASH,
//   permission=LOGIN=PERMISSION, hash_cost, max_challenged (default 10000).
// Client settings: server_public_key, login, password, public_key and
//   secret_key (generated when absent).

#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <shared_mutex>

#include "builtin.hpp"
#include "curve_options.hpp"
#include "log.hpp"
#include "wire/bodies.hpp"
#include "zap_server.hpp"

namespace pseud::plugins {

namespace {

constexpr std::string_view name = "untrusted_curve";
constexpr std::string_view challenge_text = "Authentication Required";
constexpr std::string_view failure_text = "Authentication Error";
constexpr int max_hellos = 2;  // per connection, as pseud's client tries

// Client keys whose owner has logged in: Z85 key -> login. Written on the
// engine thread, read by the ZAP thread.
class TrustedKeys {
 public:
  void trust(std::string key, std::string login) {
    std::unique_lock lock(mutex_);
    logins_by_key_[std::move(key)] = login;
    logins_.insert(std::move(login));
  }
  std::optional<std::string> login_of(const std::string& key) const {
    std::shared_lock lock(mutex_);
    auto it = logins_by_key_.find(key);
    if (it == logins_by_key_.end()) return std::nullopt;
    return it->second;
  }
  bool is_login(std::string_view user) const {
    std::shared_lock lock(mutex_);
    return logins_.count(std::string(user)) > 0;
  }

 private:
  mutable std::shared_mutex mutex_;
  std::map<std::string, std::string> logins_by_key_;
  std::set<std::string> logins_;
};

class UntrustedCurveServer final : public AuthBackend {
 public:
  explicit UntrustedCurveServer(const Settings& settings)
      : keys_(server_keys(settings, name)),
        permissions_(settings, name),
        max_challenged_(std::stoul(settings.get_or("max_challenged", "10000"))) {
    load_users(settings, name, *users_);
    if (users_->size() == 0) throw UsageError("untrusted_curve: no users configured (setting user=LOGIN=PASSWORD)");
  }

  void configure(AuthHost& host) override {
    apply_server_keys(host, keys_);
    zap_ = start_zap(host, [trusted = trusted_](const security::ZapRequest& request) {
      security::ZapReply reply;
      if (request.mechanism != "CURVE" || request.credentials.size() != 1) return reply;
      const std::string key = security::key_to_z85(request.credentials[0]);
      // Any key may connect; a key that logged in before comes back as its login.
      reply = {"200", "OK", trusted->login_of(key).value_or(key)};
      return reply;
    });
  }
  void stop() override { zap_.reset(); }
  bool authenticates_connections() const noexcept override { return true; }

  bool is_authenticated(const Connection& from) override {
    if (from.zap_user_id.empty()) return false;
    return trusted_->is_login(from.zap_user_id) || trusted_->login_of(std::string(from.zap_user_id)).has_value();
  }

  std::string user_of(const Connection& from) override {
    return trusted_->login_of(std::string(from.zap_user_id)).value_or(std::string(from.zap_user_id));
  }

  void handle_unauthenticated(AuthHost& host, const Connection& from, std::string_view id) override {
    remember_challenge(from);
    host.send_unauthorized(from.routing_id, id, challenge_text);
  }

  void handle_hello(AuthHost& host, const Connection& from, std::string_view id, std::string_view body) override {
    auto it = challenged_.find(std::string(from.routing_id));
    if (it == challenged_.end() || it->second.key != from.zap_user_id || it->second.hellos >= max_hellos ||
        it->second.checking) {
      // A HELLO nobody asked for, from a key that changed, or too many tries.
      detail::log(LogLevel::info, "pseud: untrusted_curve refused an unexpected HELLO");
      host.send_unauthorized(from.routing_id, id, failure_text);
      return;
    }
    ++it->second.hellos;
    auto hello = decode(body);
    if (!hello) {
      host.send_unauthorized(from.routing_id, id, failure_text);
      return;
    }
    // Password hashing is slow on purpose: check off the engine thread.
    it->second.checking = true;
    auto verdict = std::make_shared<bool>(false);
    auto attempt = std::make_shared<wire::HelloBody>(std::move(*hello));
    host.defer([users = users_, attempt, verdict] { *verdict = users->verify(attempt->login, attempt->password); },
               [this, &host, routing_id = std::string(from.routing_id), key = std::string(from.zap_user_id),
                id = std::string(id), attempt, verdict] { finish_hello(host, routing_id, key, id, *attempt, *verdict); });
  }

  void forget(std::string_view routing_id) override { challenged_.erase(std::string(routing_id)); }

  PredicateArgs predicate_arguments(const Caller& caller) override {
    return permissions_.arguments_for(caller.user_id);
  }

 private:
  struct Challenge {
    std::string key;
    int hellos = 0;
    bool checking = false;
  };

  static std::optional<wire::HelloBody> decode(std::string_view body) {
    auto unpacked = wire::unpack_body(body);
    if (auto* handle = std::get_if<msgpack::object_handle>(&unpacked)) return wire::decode_hello(handle->get());
    return std::nullopt;
  }

  void remember_challenge(const Connection& from) {
    std::string routing_id(from.routing_id);
    if (challenged_.count(routing_id)) return;
    // Bounded: the oldest challenges go first when too many connections never answer.
    while (challenged_.size() >= max_challenged_ && !challenge_order_.empty()) {
      challenged_.erase(challenge_order_.front());
      challenge_order_.pop_front();
    }
    challenged_[routing_id] = Challenge{std::string(from.zap_user_id)};
    challenge_order_.push_back(std::move(routing_id));
  }

  void finish_hello(AuthHost& host, const std::string& routing_id, const std::string& key, const std::string& id,
                    const wire::HelloBody& attempt, bool accepted) {
    auto it = challenged_.find(routing_id);
    if (it == challenged_.end() || it->second.key != key) return;  // gone meanwhile
    it->second.checking = false;
    if (!accepted) {
      host.send_unauthorized(routing_id, id, failure_text);
      return;
    }
    trusted_->trust(key, attempt.login);
    challenged_.erase(it);
    host.bind_user(attempt.login, routing_id);
    host.send_authenticated(routing_id, id, "Welcome " + wire::python_bytes_repr(attempt.login));
  }

  ServerKeys keys_;
  Permissions permissions_;
  std::size_t max_challenged_;
  std::shared_ptr<security::PasswordStore> users_ = std::make_shared<security::PasswordStore>();
  std::shared_ptr<TrustedKeys> trusted_ = std::make_shared<TrustedKeys>();
  std::map<std::string, Challenge> challenged_;  // routing id -> challenge (engine thread)
  std::deque<std::string> challenge_order_;
  std::unique_ptr<security::ZapRegistration> zap_;
};

class UntrustedCurveClient final : public AuthBackend {
 public:
  explicit UntrustedCurveClient(const Settings& settings)
      : keys_(client_keys(settings, name, true)),
        login_(settings.require("login", name)),
        password_(settings.require("password", name)) {}

  void configure(AuthHost& host) override { apply_client_keys(host, keys_); }
  bool is_authenticated(const Connection&) override { return true; }
  bool keeps_work_for_retry() const noexcept override { return true; }

  bool handle_unauthorized(AuthHost& host, std::string_view server, std::string_view id,
                           std::string_view text) override {
    waiting_.insert(std::string(id));
    if (id == hello_id_) hello_id_.clear();  // the answer to our HELLO: it failed
    (void)text;
    if (!hello_id_.empty()) return true;      // a HELLO is under way: wait for it
    if (hellos_sent_ >= max_hellos) {
      fail_waiting(host, "Max authentication retries reached");
      return true;
    }
    ++hellos_sent_;
    hello_id_ = std::string(id);
    host.send_hello(server, id, login_, password_);
    return true;
  }

  void handle_authenticated(AuthHost& host, std::string_view, std::string_view, std::string_view) override {
    hello_id_.clear();
    hellos_sent_ = 0;
    for (const auto& id : std::exchange(waiting_, {})) host.resend_work(id);
  }

 private:
  void fail_waiting(AuthHost& host, std::string_view why) {
    for (const auto& id : std::exchange(waiting_, {})) host.fail_call(id, why);
    hellos_sent_ = 0;
  }

  ClientKeys keys_;
  std::string login_;
  std::string password_;
  std::set<std::string> waiting_;  // ids of calls to re-send once authenticated
  std::string hello_id_;           // id our HELLO under way carries
  int hellos_sent_ = 0;
};

}  // namespace

std::unique_ptr<AuthBackend> make_untrusted_curve_auth(PeerRole role, const Settings& settings) {
  if (role == PeerRole::server) return std::make_unique<UntrustedCurveServer>(settings);
  return std::make_unique<UntrustedCurveClient>(settings);
}

}  // namespace pseud::plugins
