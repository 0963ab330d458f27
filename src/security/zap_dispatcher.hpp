#pragma once
// Security: the ZAP (RFC 27) handler. libzmq asks exactly one handler per
// context, the socket bound at "inproc://zeromq.zap.01", to authenticate
// every PLAIN/CURVE handshake. Several pseud servers may share a context,
// so one dispatcher per context owns that socket and routes each request by
// its ZAP domain to the authenticator registered for the domain.
//
// Fail closed: libzmq's CURVE *accepts any client key* when no handler
// answers (no dispatcher yet, or it stopped). Every server socket that relies
// on a registration must therefore, before bind():
//   - set ZMQ_ZAP_DOMAIN to the registered (non-empty) domain, and
//   - set ZMQ_ZAP_ENFORCE_DOMAIN = 1 (option 93, see security/zmq_draft.hpp).
// Then a missing handler or an unregistered domain refuses the client.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "security/zmq_draft.hpp"  // first, so cppzmq sees ZMQ_ZAP_ENFORCE_DOMAIN

#include <zmq.hpp>

namespace pseud::security {

/// One ZAP request, as libzmq sends it.
struct ZapRequest {
  std::string domain;     ///< ZMQ_ZAP_DOMAIN of the server socket (non-empty)
  std::string address;    ///< the client's IP address as text ("" for inproc/ipc)
  std::string routing_id; ///< the ZAP "identity" frame: the SERVER socket's own id (libzmq #4161), not the client's
  std::string mechanism;  ///< "NULL", "PLAIN", "CURVE" or "GSSAPI"
  /// NULL: none. PLAIN: {username, password}. CURVE: {32 raw bytes of the
  /// client's long-term public key; see key_to_z85()}. GSSAPI: {principal}.
  std::vector<std::string> credentials;
};

/// The answer to one request. The defaults refuse.
struct ZapReply {
  /// "200" accept, "300" temporary failure (silent close), "400" refused,
  /// "500" internal error. Anything else is turned into "500".
  std::string status_code = "400";
  std::string status_text = "Unauthorized";
  /// Becomes the connection's "User-Id" property (zmq_msg_gets) when accepted.
  std::string user_id;
};

/// Decides one request. Runs on the dispatcher's thread, which serves every
/// handshake of the context one at a time: keep it fast (no network, no
/// blocking), and make what it reads safe against the threads that change
/// it. An exception it throws refuses the client ("500").
using ZapAuthenticator = std::function<ZapReply(const ZapRequest&)>;

class ZapDispatcher;
struct ZapDomain;

/// Keeps one domain registered. Destroying it unregisters the domain; when it
/// returns, the authenticator is not running and never runs again (and has
/// been destroyed). Destroying the last registration of a context stops that
/// context's handler thread and unbinds and closes its socket.
/// Thread-safe: registrations may be created and destroyed from any threads,
/// and an authenticator may register or drop *other* domains, but it must
/// never destroy its own registration (that would wait for itself).
class ZapRegistration {
 public:
  ZapRegistration(std::shared_ptr<ZapDispatcher> dispatcher, std::shared_ptr<ZapDomain> domain) noexcept;
  ~ZapRegistration();
  ZapRegistration(const ZapRegistration&) = delete;
  ZapRegistration& operator=(const ZapRegistration&) = delete;

  const std::string& domain() const noexcept;
  /// Well-formed requests routed to this domain's authenticator so far.
  std::uint64_t requests() const noexcept;

 private:
  std::shared_ptr<ZapDispatcher> dispatcher_;
  std::shared_ptr<ZapDomain> domain_;
};

/// Registers `authenticator` for `domain` in `context`, starting the context's
/// handler thread if needed; the handler is bound when this returns.
/// Throws pseud::UsageError for an empty domain, a domain longer than 255
/// bytes, an empty authenticator or a domain already registered in this
/// context; pseud::Error when "inproc://zeromq.zap.01" is bound by someone
/// else in this context or the context is terminated.
/// If the context is shut down or terminated while registrations remain, the
/// handler thread notices (ETERM), closes its socket so zmq_ctx_term() can
/// finish, and destroying the registrations afterwards touches no ZeroMQ object.
std::unique_ptr<ZapRegistration> register_zap_domain(zmq::context_t& context, std::string domain,
                                                     ZapAuthenticator authenticator);

/// The endpoint libzmq looks up for ZAP.
inline constexpr const char* zap_endpoint = "inproc://zeromq.zap.01";

}  // namespace pseud::security
