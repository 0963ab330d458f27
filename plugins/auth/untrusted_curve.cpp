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
//   permission=LOGIN=PERMISSION, hash_cost, max_challenged (default 10000),
//   and the limits on password checks (password_checks.hpp). A HELLO whose
//   login is over 256 bytes or password over 1 KiB is refused undecoded.
// Challenges (login tries) are per connection: kept by routing id and key,
// forgotten when the connection closes (the engine calls forget()).
// Client settings: server_public_key, login, password, public_key and
//   secret_key (generated when absent).

#include <atomic>
#include <list>
#include <map>
#include <mutex>
#include <set>
#include <shared_mutex>

#include "builtin.hpp"
#include "curve_options.hpp"
#include "handshake_server.hpp"
#include "password_checks.hpp"
#include "pseud/handshakes.hpp"
#include "pseud/log.hpp"

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
        max_challenged_(std::stoul(settings.get_or("max_challenged", "10000"))),
        checks_(std::make_shared<PasswordChecks>(settings, name)) {
    if (checks_->users().size() == 0) throw UsageError("untrusted_curve: no users configured (setting user=LOGIN=PASSWORD)");
  }

  void configure(AuthHost& host) override {
    apply_server_keys(host, keys_);
    gate_ = decide_handshakes(host, [trusted = trusted_](const Handshake& handshake) {
      if (handshake.mechanism != HandshakeMechanism::curve) return HandshakeVerdict::refuse();
      // Any key may connect; a key that logged in before comes back as its login.
      return HandshakeVerdict::accept(trusted->login_of(handshake.client_key).value_or(handshake.client_key));
    });
  }
  void stop() override { gate_.reset(); }

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
    const Key key{std::string(from.routing_id), std::string(from.zap_user_id)};
    auto it = challenged_.find(key);
    if (it == challenged_.end() || it->second.hellos >= max_hellos || it->second.checking) {
      // A HELLO nobody asked for (on this connection, with this key), too many tries, or one under way.
      pseud::log(LogLevel::info, "pseud: untrusted_curve refused an unexpected HELLO");
      host.send_unauthorized(from.routing_id, id, failure_text);
      return;
    }
    Challenge& challenge = it->second;
    ++challenge.hellos;
    // The length caps first, on the body as it came: nothing bigger is decoded or hashed.
    if (body.size() > max_hello_body()) return refuse_oversize(host, from, id);
    auto hello = decode_hello(body);
    if (!hello) {
      host.send_unauthorized(from.routing_id, id, failure_text);
      return;
    }
    const auto admission = checks_->admit(from.peer_address, hello->login.size(), hello->password.size());
    if (admission != PasswordChecks::Admission::admitted) {
      pseud::log(LogLevel::info, "pseud: untrusted_curve refused a login from ",
                  from.peer_address.empty() ? "local" : from.peer_address,
                  " unchecked: ", PasswordChecks::refusal_text(admission));
      host.send_unauthorized(from.routing_id, id, failure_text);
      return;
    }
    // Password hashing is slow on purpose: it runs on the check threads, and
    // is skipped if the connection goes before its turn comes.
    challenge.checking = true;
    challenge.cancelled = std::make_shared<std::atomic<bool>>(false);
    auto verdict = std::make_shared<bool>(false);
    auto attempt = std::make_shared<HelloCredentials>(std::move(*hello));
    std::string address(from.peer_address);
    const bool queued = host.defer(
        [checks = checks_, address, attempt, verdict, cancelled = challenge.cancelled] {
          if (cancelled->load()) return checks->release(address, false);
          *verdict = checks->verify_admitted(address, attempt->login, attempt->password);
        },
        [this, &host, key, id = std::string(id), attempt, verdict] { finish_hello(host, key, id, *attempt, *verdict); });
    if (queued) return;
    challenge.checking = false;
    checks_->release(address, true);
    pseud::log(LogLevel::info, "pseud: untrusted_curve refused a login unchecked: ",
                PasswordChecks::refusal_text(PasswordChecks::Admission::busy));
    host.send_unauthorized(from.routing_id, id, failure_text);
  }

  void forget(std::string_view routing_id) override {
    // Every key's challenge under this routing id: the connection that had them is gone.
    const std::string id(routing_id);
    for (auto it = challenged_.lower_bound(Key{id, {}}); it != challenged_.end() && it->first.first == id;) {
      it = erase(it);
    }
  }

  PredicateArgs predicate_arguments(const Caller& caller) override {
    return permissions_.arguments_for(caller.user_id);
  }

  AuthStats stats() const override { return checks_->stats(); }

 private:
  // A connection's challenge is its routing id and CURVE key together: a
  // stranger presenting the same routing id (with another key) has a
  // challenge of its own and cannot spend the owner's tries.
  using Key = std::pair<std::string, std::string>;
  struct Challenge {
    int hellos = 0;
    bool checking = false;
    std::shared_ptr<std::atomic<bool>> cancelled;  // set when the challenge goes while its check waits
    std::list<Key>::iterator order;               // its place in challenge_order_
  };
  using Challenges = std::map<Key, Challenge>;

  // Bytes of a msgpack bin header for `size` bytes.
  static std::size_t bin_header(std::size_t size) noexcept { return size <= 0xff ? 2 : size <= 0xffff ? 3 : 5; }

  // The largest HELLO body [bin login, bin password] within the length caps.
  std::size_t max_hello_body() const noexcept {
    const auto& limits = checks_->limits();
    return 1 + bin_header(limits.max_login) + limits.max_login + bin_header(limits.max_password) + limits.max_password;
  }

  void refuse_oversize(AuthHost& host, const Connection& from, std::string_view id) {
    checks_->count_oversize();
    pseud::log(LogLevel::info, "pseud: untrusted_curve refused a login unchecked: ",
                PasswordChecks::refusal_text(PasswordChecks::Admission::oversize));
    host.send_unauthorized(from.routing_id, id, failure_text);
  }

  Challenges::iterator erase(Challenges::iterator it) {
    if (it->second.cancelled) it->second.cancelled->store(true);
    challenge_order_.erase(it->second.order);
    return challenged_.erase(it);
  }

  void remember_challenge(const Connection& from) {
    Key key{std::string(from.routing_id), std::string(from.zap_user_id)};
    if (challenged_.count(key)) return;
    // Bounded: the oldest challenges go first when too many connections never answer.
    while (challenged_.size() >= max_challenged_ && !challenge_order_.empty()) {
      erase(challenged_.find(challenge_order_.front()));
    }
    challenge_order_.push_back(key);
    Challenge challenge;
    challenge.order = std::prev(challenge_order_.end());
    challenged_.emplace(std::move(key), std::move(challenge));
  }

  void finish_hello(AuthHost& host, const Key& key, const std::string& id, const HelloCredentials& attempt,
                    bool accepted) {
    auto it = challenged_.find(key);
    if (it == challenged_.end()) return;  // the connection went meanwhile
    it->second.checking = false;
    if (!accepted) {
      host.send_unauthorized(key.first, id, failure_text);
      return;
    }
    trusted_->trust(key.second, attempt.login);
    erase(it);
    host.bind_user(attempt.login, key.first);
    host.send_authenticated(key.first, id, welcome_text(attempt.login));
  }

  ServerKeys keys_;
  Permissions permissions_;
  std::size_t max_challenged_;
  std::shared_ptr<PasswordChecks> checks_;
  std::shared_ptr<TrustedKeys> trusted_ = std::make_shared<TrustedKeys>();
  Challenges challenged_;              // (routing id, key) -> challenge (engine thread)
  std::list<Key> challenge_order_;     // oldest first
  std::unique_ptr<HandshakeGate> gate_;
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

  // The connection to the server is gone (its calls fail with it): a HELLO
  // under way will never be answered, and the next connection is challenged
  // afresh, so its tries start again. (Without this, a HELLO lost with its
  // connection left every later call waiting for it until it timed out.)
  void forget(std::string_view) override {
    hello_id_.clear();
    hellos_sent_ = 0;
    waiting_.clear();
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
