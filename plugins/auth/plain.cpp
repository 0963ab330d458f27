// The "plain" authentication backend: ZMQ PLAIN checked by our ZAP handler
// against libsodium password hashes; the User-Id is the login.
// Server settings: user=LOGIN=PASSWORD or user_hash=LOGIN=HASH (repeatable),
//   permission=LOGIN=PERMISSION, hash_cost=interactive|minimal, encrypted_link.
// Client settings: login, password, encrypted_link.

#include "builtin.hpp"
#include "log.hpp"
#include "zap_server.hpp"

namespace pseud::plugins {

namespace {

constexpr std::string_view name = "plain";

void warn_clear_text(const Settings& settings) {
  if (setting_is_true(settings, "encrypted_link")) return;
  detail::log(LogLevel::warning,
              "pseud: PLAIN authentication sends passwords in clear text; use it only over an encrypted link "
              "(set encrypted_link=true to say it is one), or use curve authentication");
}

class PlainServer final : public ZapServerBackend {
 public:
  explicit PlainServer(const Settings& settings) : ZapServerBackend(settings, name), settings_(settings) {
    load_users(settings, name, *users_);
    if (users_->size() == 0) throw UsageError("plain: no users configured (setting user=LOGIN=PASSWORD)");
  }

  void configure(AuthHost& host) override {
    warn_clear_text(settings_);
    host.socket().set(zmq::sockopt::plain_server, 1);
    serve_zap(host, [users = users_](const security::ZapRequest& request) {
      security::ZapReply reply;
      if (request.mechanism == "PLAIN" && request.credentials.size() == 2 &&
          users->verify(request.credentials[0], request.credentials[1])) {
        reply = {"200", "OK", request.credentials[0]};
      }
      return reply;
    });
  }

 private:
  Settings settings_;
  std::shared_ptr<security::PasswordStore> users_ = std::make_shared<security::PasswordStore>();
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
