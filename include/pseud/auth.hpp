#pragma once
/// Authentication backends. A peer's options name one (PeerOptions::auth);
/// factories are registered at run time by name (see backends.hpp). Built in:
/// "noop", "plain", "trusted_curve", "untrusted_curve".
///
/// Every method runs on the peer's engine thread, except stats(), what a
/// backend registers with the ZAP dispatcher (which runs on the ZAP thread)
/// and the work it hands to AuthHost::defer().

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <zmq.hpp>

#include "pseud/caller.hpp"
#include "pseud/settings.hpp"

namespace pseud {

/// Which side a peer (and so a backend) plays.
enum class PeerRole { server, client };

/// What the engine offers an auth backend.
class AuthHost {
 public:
  virtual ~AuthHost() = default;

  virtual PeerRole role() const noexcept = 0;
  /// The peer's own routing id (a server's name; empty for an anonymous client).
  virtual const std::string& own_routing_id() const noexcept = 0;
  /// The peer's ROUTER socket. Set options on it only in configure().
  virtual zmq::socket_ref socket() noexcept = 0;
  /// The ZeroMQ context the peer's sockets live in (the ZAP handler must use it).
  virtual zmq::context_t& context() noexcept = 0;

  /// Server: replies UNAUTHORIZED with `text` (raw UTF-8) to message `id`.
  virtual void send_unauthorized(std::string_view routing_id, std::string_view id, std::string_view text) = 0;
  /// Server: replies AUTHENTICATED with `text` to message `id`.
  virtual void send_authenticated(std::string_view routing_id, std::string_view id, std::string_view text) = 0;
  /// Server: records that `user` is reached at `routing_id` (for send_to(user)).
  virtual void bind_user(std::string_view user, std::string_view routing_id) = 0;
  /// Client: sends HELLO [bin login, bin password] carrying the id of the call being retried.
  virtual void send_hello(std::string_view routing_id, std::string_view id, std::string_view login,
                          std::string_view password) = 0;
  /// Client: sends the saved WORK of call `id` again, same id and bytes. False when no such call waits.
  virtual bool resend_work(std::string_view id) = 0;
  /// Client: fails call `id` with UnauthorizedError(message).
  virtual void fail_call(std::string_view id, std::string_view message) = 0;
  /// Runs `work` on the process's password-check threads (never the engine
  /// thread, never the blocking-handler pool), then `done` back on the engine
  /// thread: for slow checks such as password hashing. Returns false, running
  /// neither, when those threads' bounded queue is full: refuse the login.
  /// `done` is dropped unrun once the peer stops; `work` must own what it uses.
  virtual bool defer(std::function<void()> work, std::function<void()> done) = 0;
};

/// The connection a message came on: its routing id, its ZAP User-Id (empty
/// without ZAP) and, for a connection that is not authenticated, the
/// client's IP address as text (its "Peer-Address"; empty when unknown, as
/// over inproc).
struct Connection {
  std::string_view routing_id;
  std::string_view zap_user_id;
  std::string_view peer_address{};
};

/// What a backend counts about the credentials it checked, or refused to
/// check, before authentication (PeerStats::auth_*). Plain numbers.
struct AuthStats {
  std::uint64_t checks = 0;              ///< password checks run
  std::uint64_t refused_busy = 0;        ///< logins refused unchecked: too many checks waiting
  std::uint64_t refused_by_address = 0;  ///< ... unchecked: over the per-address limits
  std::uint64_t refused_oversize = 0;    ///< ... unchecked: login or password over its length cap
  std::uint64_t expired = 0;             ///< logins refused because no verdict came in time
};

/// One authentication policy, for one peer in one role: the whole interface
/// the engine drives, server and client methods together. A backend of your
/// own is simpler to write as a ServerAuth and a ClientAuth (auth_roles.hpp);
/// this one is for in-band logins such as "untrusted_curve".
class AuthBackend {
 public:
  virtual ~AuthBackend() = default;

  /// Before any bind or connect: set socket options, start ZAP handling.
  virtual void configure(AuthHost& host) = 0;
  /// The peer stops: release what configure() took.
  virtual void stop() {}
  /// Server: may a new connection presenting a connected peer's routing id
  /// take that id over (libzmq's ROUTER_HANDOVER), and may send_to() address
  /// a bare routing id? Only for a backend under which a routing id is all
  /// there is (as "noop"): under any backend that authenticates, a takeover
  /// would let whoever presents alice's id receive what is sent to alice.
  /// Off unless a backend opts in. (A client always lets its server reconnect.)
  virtual bool allows_routing_id_takeover() const noexcept { return false; }

  /// May messages from this connection reach dispatch?
  virtual bool is_authenticated(const Connection& from) = 0;
  /// Server: a HELLO from a connection that is not authenticated.
  virtual void handle_hello(AuthHost& host, const Connection& from, std::string_view id, std::string_view body) {
    (void)host, (void)from, (void)id, (void)body;
  }
  /// Server: any other message from a connection that is not authenticated
  /// (`id` is empty for HEARTBEAT).
  virtual void handle_unauthenticated(AuthHost& host, const Connection& from, std::string_view id) {
    (void)host, (void)from, (void)id;
  }
  /// The user a connection speaks for: its User-Id unless the backend knows better.
  virtual std::string user_of(const Connection& from) { return std::string(from.zap_user_id); }
  /// What domain predicates see about a caller.
  virtual PredicateArgs predicate_arguments(const Caller& caller) {
    PredicateArgs args;
    args.user_id = caller.user_id;
    return args;
  }
  /// A connection went away (authenticated or not): forget its state.
  virtual void forget(std::string_view routing_id) { (void)routing_id; }
  /// The backend's counters. Called from any thread.
  virtual AuthStats stats() const { return {}; }

  /// Client: keep each call's WORK so it can be re-sent after authentication.
  virtual bool keeps_work_for_retry() const noexcept { return false; }
  /// Client: the server answered call `id` with UNAUTHORIZED `text`. Return
  /// true when the backend answered it (and the call keeps waiting); false
  /// fails the call with UnauthorizedError(text).
  virtual bool handle_unauthorized(AuthHost& host, std::string_view server, std::string_view id,
                                   std::string_view text) {
    (void)host, (void)server, (void)id, (void)text;
    return false;
  }
  /// Client: the server answered call `id` with AUTHENTICATED.
  virtual void handle_authenticated(AuthHost& host, std::string_view server, std::string_view id,
                                    std::string_view text) {
    (void)server, (void)text;
    host.resend_work(id);
  }
};

/// The login and password a HELLO carries (pseud's in-band login, used by
/// "untrusted_curve": the body is [bin login, bin password]).
struct HelloCredentials {
  std::string login;
  std::string password;
};
/// Decodes a HELLO body as AuthBackend::handle_hello receives it; nullopt
/// when it is not one. Check the body's size against your own caps first:
/// whatever the size, this decodes it.
std::optional<HelloCredentials> decode_hello(std::string_view body);
/// What Python pseud's server sends with AUTHENTICATED for `login`
/// ("Welcome b'<login>'", the login as Python prints bytes).
std::string welcome_text(std::string_view login);

}  // namespace pseud
