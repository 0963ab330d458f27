// Security: the public handshake hook (pseud/handshakes.hpp) on top of the
// ZAP dispatcher: one ZAP domain per gate, enforced on the server's socket.

#include "pseud/handshakes.hpp"

#include <atomic>

#include "log.hpp"
#include "pseud/errors.hpp"
#include "security/zap_dispatcher.hpp"
#include "security/zmq_draft.hpp"

namespace pseud {

struct HandshakeGate::Impl {
  std::unique_ptr<security::ZapRegistration> registration;
};

HandshakeGate::HandshakeGate(std::unique_ptr<Impl> impl) noexcept : impl_(std::move(impl)) {}
HandshakeGate::~HandshakeGate() = default;

std::uint64_t HandshakeGate::decided() const noexcept { return impl_->registration->requests(); }
std::size_t HandshakeGate::pending() const noexcept { return impl_->registration->pending(); }
std::uint64_t HandshakeGate::refused_pending() const noexcept { return impl_->registration->refused_pending(); }
std::uint64_t HandshakeGate::expired() const noexcept { return impl_->registration->expired(); }

namespace {

std::atomic<std::uint64_t> domain_counter{0};

// The handshake a ZAP request describes; nullopt for one no decider is asked
// about (another mechanism, or credentials libzmq would never send).
std::optional<Handshake> handshake_of(const security::ZapRequest& request) {
  Handshake handshake;
  handshake.address = request.address;
  if (request.mechanism == "PLAIN" && request.credentials.size() == 2) {
    handshake.mechanism = HandshakeMechanism::plain;
    handshake.login = request.credentials[0];
    handshake.password = request.credentials[1];
    return handshake;
  }
  if (request.mechanism == "CURVE" && request.credentials.size() == 1 &&
      request.credentials[0].size() == curve_key_size) {
    handshake.mechanism = HandshakeMechanism::curve;
    handshake.client_key = key_to_z85(std::string_view(request.credentials[0]));
    return handshake;
  }
  return std::nullopt;
}

security::ZapReply reply_of(HandshakeVerdict verdict) {
  switch (verdict.outcome) {
    case HandshakeVerdict::Outcome::accepted:
      // An empty User-Id would look like no authentication at all.
      if (verdict.user.empty()) {
        log(LogLevel::warning, "pseud: a handshake decider accepted a client without naming its user; refused");
        return {"500", "accepted without a user", {}};
      }
      return {"200", "OK", std::move(verdict.user)};
    case HandshakeVerdict::Outcome::failed:
      return {"500", std::move(verdict.reason), {}};
    case HandshakeVerdict::Outcome::refused:
      break;
  }
  // "400", not "300": libzmq leaves a connection refused with "300" hanging in its handshake.
  return {"400", std::move(verdict.reason), {}};
}

// Ties the socket to `domain` and makes libzmq refuse, not admit, a
// handshake that domain's handler does not answer.
void enforce_domain(AuthHost& host, const std::string& domain) {
  host.socket().set(zmq::sockopt::zap_domain, domain);
  const int enforce = 1;
  if (zmq_setsockopt(host.socket().handle(), ZMQ_ZAP_ENFORCE_DOMAIN, &enforce, sizeof enforce) != 0) {
    throw zmq::error_t();
  }
}

std::string next_domain() { return "pseud." + std::to_string(domain_counter.fetch_add(1)); }

std::unique_ptr<HandshakeGate> gate_of(AuthHost& host, std::unique_ptr<security::ZapRegistration> registration) {
  enforce_domain(host, registration->domain());
  auto impl = std::make_unique<HandshakeGate::Impl>();
  impl->registration = std::move(registration);
  return std::make_unique<HandshakeGate>(std::move(impl));
}

void require_server(const AuthHost& host) {
  if (host.role() != PeerRole::server) throw UsageError("decide_handshakes: only a server decides handshakes");
}

}  // namespace

std::unique_ptr<HandshakeGate> decide_handshakes(AuthHost& host, HandshakeDecider decide) {
  require_server(host);
  if (!decide) throw UsageError("decide_handshakes: no decider given");
  auto authenticator = [decide = std::move(decide)](const security::ZapRequest& request) {
    auto handshake = handshake_of(request);
    if (!handshake) return security::ZapReply{};
    return reply_of(decide(*handshake));
  };
  return gate_of(host, security::register_zap_domain(host.context(), next_domain(), std::move(authenticator)));
}

std::unique_ptr<HandshakeGate> decide_handshakes(AuthHost& host, DeferringHandshakeDecider decide,
                                                 HandshakeLimits limits) {
  require_server(host);
  if (!decide) throw UsageError("decide_handshakes: no decider given");
  auto authenticator = [decide = std::move(decide)](const security::ZapRequest& request,
                                                    const security::ZapResponder& respond)
      -> std::optional<security::ZapReply> {
    auto handshake = handshake_of(request);
    if (!handshake) return security::ZapReply{};
    const HandshakeAnswer answer([respond](HandshakeVerdict verdict) { return respond(reply_of(std::move(verdict))); });
    auto verdict = decide(*handshake, answer);
    if (!verdict) return std::nullopt;
    return reply_of(std::move(*verdict));
  };
  return gate_of(host, security::register_zap_domain(host.context(), next_domain(), std::move(authenticator),
                                                     security::ZapDeferLimits{limits.max_pending, limits.timeout}));
}

void use_curve_server(AuthHost& host, const CurveKey& secret_key) {
  host.socket().set(zmq::sockopt::curve_server, 1);
  host.socket().set(zmq::sockopt::curve_secretkey, secret_key.binary());
}

void use_curve_client(AuthHost& host, const CurveKey& server_key, const CurveKey& public_key,
                      const CurveKey& secret_key) {
  host.socket().set(zmq::sockopt::curve_serverkey, server_key.binary());
  host.socket().set(zmq::sockopt::curve_publickey, public_key.binary());
  host.socket().set(zmq::sockopt::curve_secretkey, secret_key.binary());
}

void use_plain_server(AuthHost& host) { host.socket().set(zmq::sockopt::plain_server, 1); }

void use_plain_client(AuthHost& host, std::string_view login, std::string_view password) {
  host.socket().set(zmq::sockopt::plain_username, login);
  host.socket().set(zmq::sockopt::plain_password, password);
}

}  // namespace pseud
