// The "trusted_curve" authentication backend: CURVE, with our ZAP handler
// accepting only client public keys on an allow-list; the User-Id is the
// name the key is listed under.
// Server settings: secret_key (Z85), public_key (optional, checked),
//   trust=NAME=PUBLIC_KEY (repeatable), permission=NAME=PERMISSION.
// Client settings: server_public_key, public_key, secret_key.

#include <map>

#include "builtin.hpp"
#include "curve_options.hpp"
#include "handshake_server.hpp"
#include "pseud/keys.hpp"

namespace pseud::plugins {

namespace {

constexpr std::string_view name = "trusted_curve";

class TrustedCurveServer final : public HandshakeServerBackend {
 public:
  explicit TrustedCurveServer(const Settings& settings)
      : HandshakeServerBackend(settings, name), keys_(server_keys(settings, name)) {
    for (const auto& entry : settings.all("trust")) {
      auto [who, key] = split_assignment(entry, "trusted_curve: trust");
      const auto parsed = parse_curve_key(key, "trusted_curve: public key of '" + who + "'");
      trusted_->emplace(parsed.z85(), std::move(who));
    }
    if (trusted_->empty()) throw UsageError("trusted_curve: no client keys trusted (setting trust=NAME=PUBLIC_KEY)");
  }

  void configure(AuthHost& host) override {
    apply_server_keys(host, keys_);
    decide(host, [trusted = trusted_](const Handshake& handshake) {
      if (handshake.mechanism != HandshakeMechanism::curve) return HandshakeVerdict::refuse();
      auto it = trusted->find(handshake.client_key);
      return it == trusted->end() ? HandshakeVerdict::refuse() : HandshakeVerdict::accept(it->second);
    });
  }

 private:
  ServerKeys keys_;
  // Written only before configure(); read by the ZAP thread afterwards.
  std::shared_ptr<std::map<std::string, std::string>> trusted_ = std::make_shared<std::map<std::string, std::string>>();
};

}  // namespace

std::unique_ptr<AuthBackend> make_trusted_curve_auth(PeerRole role, const Settings& settings) {
  if (role == PeerRole::server) return std::make_unique<TrustedCurveServer>(settings);
  return make_curve_client(settings, name, false);
}

}  // namespace pseud::plugins
