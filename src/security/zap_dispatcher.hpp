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
//
// Slow decisions (password hashing) must not hold the handler thread: an
// authenticator may defer its answer and give it later from any thread
// (ZapResponder). The answer is handed back to the handler thread, which
// alone touches the ZAP socket; waiting requests are bounded in number and
// in time (ZapDeferLimits).

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
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
  /// "500" internal error. Anything else is turned into "500". (libzmq 4.3.4
  /// does not close a connection refused with "300": it stays in its
  /// handshake until ZMQ_HANDSHAKE_IVL, 30 s by default, and its client is
  /// told nothing. Refuse with "400" or "500" to close it at once.)
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

struct ZapAnswer;

/// The answer to one request, given later and from any thread (see
/// DeferringZapAuthenticator). Copies share the one answer: the first call
/// gives it, later calls do nothing. When the last copy goes without an
/// answer, the client is refused at once ("500": the slow work was dropped).
class ZapResponder {
 public:
  explicit ZapResponder(std::shared_ptr<ZapAnswer> answer) noexcept : answer_(std::move(answer)) {}

  /// Answers the request; the dispatcher's thread sends it. An invalid status
  /// code becomes "500". False when it was answered already (or timed out
  /// meanwhile, or the handler has stopped: then nobody hears it).
  bool operator()(ZapReply reply) const;

 private:
  std::shared_ptr<ZapAnswer> answer_;
};

/// Decides one request now (returns its reply) or later (returns nullopt
/// and answers through a copy of `respond`, from any thread). Runs on the
/// dispatcher's thread like ZapAuthenticator: whatever is slow goes elsewhere.
using DeferringZapAuthenticator = std::function<std::optional<ZapReply>(const ZapRequest&, const ZapResponder& respond)>;

/// Bounds on the requests of one domain that wait for a deferred answer.
/// libzmq itself never gives up on a ZAP request (a connection whose request
/// is never answered just stays in its handshake), so the dispatcher does:
struct ZapDeferLimits {
  /// Requests waiting at once; the next is refused at once ("500") without asking the authenticator.
  std::size_t max_pending = 256;
  /// A request unanswered this long is refused ("500") and forgotten; a later answer is dropped.
  std::chrono::milliseconds timeout{10000};
};

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
  /// Requests waiting for a deferred answer now.
  std::size_t pending() const noexcept;
  /// Requests refused because ZapDeferLimits::max_pending were waiting already.
  std::uint64_t refused_pending() const noexcept;
  /// Requests refused because no answer came within ZapDeferLimits::timeout.
  std::uint64_t expired() const noexcept;

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

/// The same for an authenticator that may answer later, from another thread
/// (a password check on its own threads, say), within `limits`. Requests
/// still waiting when the registration goes are answered by their
/// responders or refused at their timeout, as long as the handler runs.
std::unique_ptr<ZapRegistration> register_zap_domain(zmq::context_t& context, std::string domain,
                                                     DeferringZapAuthenticator authenticator,
                                                     ZapDeferLimits limits = {});

/// The endpoint libzmq looks up for ZAP.
inline constexpr const char* zap_endpoint = "inproc://zeromq.zap.01";

}  // namespace pseud::security
