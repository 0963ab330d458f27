// The "plain" authentication backend: ZMQ PLAIN checked by our ZAP handler
// against libsodium password hashes; the User-Id is the login.
// Server settings: user=LOGIN=PASSWORD or user_hash=LOGIN=HASH (repeatable),
//   permission=LOGIN=PERMISSION, hash_cost=interactive|minimal, encrypted_link,
//   and the limits on password checks (password_checks.hpp).
// Client settings: login, password, encrypted_link.

#include "builtin.hpp"
#include "pseud/log.hpp"
#include "password_checks.hpp"
#include "security/check_pool.hpp"
#include "zap_server.hpp"

namespace pseud::plugins {

namespace {

constexpr std::string_view name = "plain";

void warn_clear_text(const Settings& settings) {
  if (setting_is_true(settings, "encrypted_link")) return;
  pseud::log(LogLevel::warning,
              "pseud: PLAIN authentication sends passwords in clear text; use it only over an encrypted link "
              "(set encrypted_link=true to say it is one), or use curve authentication");
}

class PlainServer final : public ZapServerBackend {
 public:
  explicit PlainServer(const Settings& settings)
      : ZapServerBackend(settings, name), settings_(settings), checks_(std::make_shared<PasswordChecks>(settings, name)) {
    if (checks_->users().size() == 0) throw UsageError("plain: no users configured (setting user=LOGIN=PASSWORD)");
  }

  void configure(AuthHost& host) override {
    warn_clear_text(settings_);
    host.socket().set(zmq::sockopt::plain_server, 1);
    // The ZAP thread answers every handshake of the context: it only admits
    // the check and hands it to the check threads, whose verdict answers later.
    serve_zap(
        host,
        [checks = checks_, pool = security::shared_check_pool()](
            const security::ZapRequest& request, const security::ZapResponder& respond) -> std::optional<security::ZapReply> {
          if (request.mechanism != "PLAIN" || request.credentials.size() != 2) return security::ZapReply{};
          const std::string& login = request.credentials[0];
          const std::string& password = request.credentials[1];
          const auto admission = checks->admit(request.address, login.size(), password.size());
          if (admission != PasswordChecks::Admission::admitted) {
            pseud::log(LogLevel::info, "pseud: plain refused a login from ", request.address.empty() ? "local" : request.address,
                        " unchecked: ", PasswordChecks::refusal_text(admission));
            // Not "300", which libzmq leaves hanging in its handshake: "400", or "500" for the server's own limits.
            const bool server_side = admission == PasswordChecks::Admission::busy;
            return security::ZapReply{server_side ? "500" : "400", PasswordChecks::refusal_text(admission), {}};
          }
          const bool queued = pool->try_post([checks, respond, address = request.address, login, password] {
            const bool accepted = checks->verify_admitted(address, login, password);
            respond(accepted ? security::ZapReply{"200", "OK", login} : security::ZapReply{});
          });
          if (queued) return std::nullopt;
          checks->release(request.address, true);
          pseud::log(LogLevel::info, "pseud: plain refused a login unchecked: ",
                      PasswordChecks::refusal_text(PasswordChecks::Admission::busy));
          return security::ZapReply{"500", PasswordChecks::refusal_text(PasswordChecks::Admission::busy), {}};
        },
        security::ZapDeferLimits{});
  }

  AuthStats stats() const override {
    AuthStats stats = checks_->stats();
    const ZapCounters zap = zap_counters();
    stats.refused_busy += zap.refused_pending;
    stats.expired += zap.expired;
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
    host.socket().set(zmq::sockopt::plain_username, login_);
    host.socket().set(zmq::sockopt::plain_password, password_);
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
