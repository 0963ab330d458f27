// The "plain" authentication backend: ZMQ PLAIN checked by our ZAP handler
// against libsodium password hashes; the User-Id is the login.
// Server settings: user=LOGIN=PASSWORD or user_hash=LOGIN=HASH (repeatable),
//   permission=LOGIN=PERMISSION, hash_cost=interactive|minimal, encrypted_link,
//   and the limits on password checks (password_checks.hpp).
// Client settings: login, password, encrypted_link.

#include "builtin.hpp"
#include "handshake_server.hpp"
#include "password_checks.hpp"
#include "pseud/log.hpp"

namespace pseud::plugins {

namespace {

constexpr std::string_view name = "plain";

void warn_clear_text(const Settings& settings) {
  if (setting_is_true(settings, "encrypted_link")) return;
  pseud::log(LogLevel::warning,
              "pseud: PLAIN authentication sends passwords in clear text; use it only over an encrypted link "
              "(set encrypted_link=true to say it is one), or use curve authentication");
}

class PlainServer final : public HandshakeServerBackend {
 public:
  explicit PlainServer(const Settings& settings)
      : HandshakeServerBackend(settings, name), settings_(settings), checks_(std::make_shared<PasswordChecks>(settings, name)) {
    if (checks_->users().size() == 0) throw UsageError("plain: no users configured (setting user=LOGIN=PASSWORD)");
  }

  void configure(AuthHost& host) override {
    warn_clear_text(settings_);
    use_plain_server(host);
    // The handshake thread decides every handshake of the context: it only
    // admits the check and hands it to the check threads, whose verdict answers later.
    decide(
        host,
        [checks = checks_, threads = PasswordCheckThreads()](
            const Handshake& handshake, const HandshakeAnswer& answer) -> std::optional<HandshakeVerdict> {
          if (handshake.mechanism != HandshakeMechanism::plain) return HandshakeVerdict::refuse();
          const auto admission = checks->admit(handshake.address, handshake.login.size(), handshake.password.size());
          if (admission != PasswordChecks::Admission::admitted) {
            pseud::log(LogLevel::info, "pseud: plain refused a login from ",
                       handshake.address.empty() ? "local" : handshake.address,
                       " unchecked: ", PasswordChecks::refusal_text(admission));
            const std::string why = PasswordChecks::refusal_text(admission);
            return admission == PasswordChecks::Admission::busy ? HandshakeVerdict::fail(why)
                                                                 : HandshakeVerdict::refuse(why);
          }
          const bool queued = threads.try_post(
              [checks, answer, address = handshake.address, login = handshake.login, password = handshake.password] {
                const bool accepted = checks->verify_admitted(address, login, password);
                answer(accepted ? HandshakeVerdict::accept(login) : HandshakeVerdict::refuse());
              });
          if (queued) return std::nullopt;
          checks->release(handshake.address, true);
          pseud::log(LogLevel::info, "pseud: plain refused a login unchecked: ",
                     PasswordChecks::refusal_text(PasswordChecks::Admission::busy));
          return HandshakeVerdict::fail(PasswordChecks::refusal_text(PasswordChecks::Admission::busy));
        },
        HandshakeLimits{});
  }

  AuthStats stats() const override {
    AuthStats stats = checks_->stats();
    const GateCounters gate = gate_counters();
    stats.refused_busy += gate.refused_pending;
    stats.expired += gate.expired;
    return stats;
  }

 private:
  Settings settings_;
  std::shared_ptr<PasswordChecks> checks_;
};

class PlainClient final : public AuthBackend {
 public:
  explicit PlainClient(const Settings& settings)
      : settings_(settings), login_(settings.require("login", name)), password_(settings.require("password", name)) {}

  void configure(AuthHost& host) override {
    warn_clear_text(settings_);
    use_plain_client(host, login_, password_);
  }
  bool is_authenticated(const Connection&) override { return true; }

 private:
  Settings settings_;
  std::string login_;
  std::string password_;
};

}  // namespace

std::unique_ptr<AuthBackend> make_plain_auth(PeerRole role, const Settings& settings) {
  if (role == PeerRole::server) return std::make_unique<PlainServer>(settings);
  return std::make_unique<PlainClient>(settings);
}

}  // namespace pseud::plugins
