#pragma once
/// Authentication backends of your own, one small interface per role: a
/// ServerAuth decides who may call a server, a ClientAuth proves who a
/// client is. Register them together by name (backends.hpp,
/// register_auth_backend with an AuthBackendDefinition); the library adapts
/// them to the engine. Every method runs on the peer's engine thread, except
/// what configure() hands to decide_handshakes() (handshakes.hpp).

#include <memory>

#include "pseud/auth.hpp"

namespace pseud {

/// The server side: who may call.
class ServerAuth {
 public:
  virtual ~ServerAuth() = default;

  /// Before any bind: set up the socket (e.g. use_plain_server() or
  /// use_curve_server()) and start deciding handshakes (decide_handshakes()).
  virtual void configure(AuthHost& host) = 0;
  /// The peer stops: release what configure() took (e.g. the HandshakeGate).
  virtual void stop() {}
  /// May messages from this connection reach dispatch? By default: those of
  /// a connection whose handshake your decider accepted (it has a User-Id,
  /// the user its verdict named). Any other message is answered UNAUTHORIZED
  /// "Authentication Required" and reaches no handler.
  virtual bool is_authenticated(const Connection& from) { return !from.zap_user_id.empty(); }
  /// What domain predicates see about a caller. By default: its user, no permissions.
  virtual PredicateArgs predicate_arguments(const Caller& caller) {
    PredicateArgs args;
    args.user_id = caller.user_id;
    return args;
  }
};

/// The client side: how a client proves who it is (e.g. use_plain_client()
/// or use_curve_client() in configure()).
class ClientAuth {
 public:
  virtual ~ClientAuth() = default;

  /// Before any connect: set up the socket.
  virtual void configure(AuthHost& host) = 0;
  /// The peer stops: release what configure() took.
  virtual void stop() {}
};

}  // namespace pseud
