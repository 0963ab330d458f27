#pragma once
/// Peers: a Server binds and is addressed by its name; a Client connects to a
/// named server. Both register functions and both call.
///
/// Thread-safety: every public member may be called from any thread. Each
/// peer runs one engine thread that owns its sockets; handlers run there
/// unless registered `blocking`, in which case they run on the peer's worker pool.

#include <chrono>
#include <coroutine>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <zmq.hpp>

#include "pseud/auth.hpp"
#include "pseud/call.hpp"
#include "pseud/caller.hpp"
#include "pseud/errors.hpp"
#include "pseud/heartbeat.hpp"
#include "pseud/registry.hpp"
#include "pseud/settings.hpp"

namespace pseud {

/// A connected, authenticated peer, as join and gone events report it.
struct PeerInfo {
  std::string routing_id;
  std::string user_id;  ///< the authenticated user; empty without authentication
};

/// Settings of one peer.
struct PeerOptions {
  /// Authentication backend and its settings ("noop", "plain", "trusted_curve",
  /// "untrusted_curve", or a registered plugin's name).
  BackendChoice auth{};
  /// Heartbeat backend and its settings ("noop" or "liveness").
  BackendChoice heartbeat{};
  /// Called on the engine thread when a peer connects and authenticates. Keep it short.
  std::function<void(const PeerInfo&)> on_peer_joined{};
  /// Called on the engine thread when a peer is gone, with the reason. Keep it short.
  std::function<void(const PeerInfo&, const std::string& reason)> on_peer_gone{};
  /// Timeout of a call that sets neither timeout nor deadline (pseud's default).
  std::chrono::milliseconds default_timeout{5000};
  /// Largest message accepted or sent, all frames together. Larger inbound
  /// frames make libzmq drop the connection; larger outbound calls fail with
  /// MessageTooLargeError before anything is sent.
  std::size_t max_message_size = 4 * 1024 * 1024;
  /// Messages queued per connection in each direction (ZMQ_SNDHWM and
  /// ZMQ_RCVHWM). libzmq returns send credit in halves of this, so it must be
  /// well above the number of calls kept in flight. A call that finds the
  /// queue full waits (within its timeout) for room; a reply that finds it
  /// full is dropped and counted in PeerStats::unroutable_replies.
  int queue_limit = 10000;
  /// A connection that sends more than this many malformed messages (those
  /// counted in PeerStats::malformed_messages) within one second is closed,
  /// and what it still had queued is dropped unread: a flood of hostile frames
  /// then costs the peer a reconnection per burst instead of its whole CPU.
  /// 0: never close. (inproc connections have no descriptor to close.)
  std::uint32_t malformed_limit = 100;
  /// Client: a call made while the server cannot be reached (nothing
  /// listens at its endpoint yet, or the connection was lost) fails at once
  /// with PeerUnreachableError instead of waiting, within its timeout, for
  /// the connection. A refused handshake fails calls at once either way.
  bool fail_fast = false;
  /// A connection must complete its ZMTP handshake (security included)
  /// within this, or libzmq closes it (ZMQ_HANDSHAKE_IVL; libzmq's own
  /// default is 30 s). With a heartbeat backend that has a silence limit
  /// (liveness), a server also closes connections that have sent nothing
  /// within this plus that limit.
  std::chrono::milliseconds handshake_timeout{10000};
  /// Requests one caller may have in this peer's hands at once: queued for
  /// or running on a worker thread, or a large body being decoded. More are
  /// refused at once, unrun, with an ERROR of class OverloadedError.
  std::size_t max_requests_per_peer = 1000;
  /// Bytes those requests may hold (bodies and decoded values), per caller...
  std::size_t max_request_bytes_per_peer = 64 * 1024 * 1024;
  /// ... and for all callers together.
  std::size_t max_request_bytes = 128 * 1024 * 1024;
  /// Threads running handlers registered `blocking`.
  std::size_t worker_threads = 4;
  /// Put a description of the C++ exception in ERROR replies (off: the traceback is empty).
  bool send_tracebacks = false;
  /// Refuse to send maps whose keys are not strings (str or bin): Python pseud
  /// 2.x drops its reader on them. A call fails with UsageError before
  /// anything is sent; a handler's result becomes a TypeError reply.
  bool strict_map_keys = true;
  /// Refuse to send a str (std::string, std::string_view, const char*) that is
  /// not valid UTF-8 as Python decodes it: a Python pseud peer's reader stops
  /// for good on one. A call fails with UsageError before anything is sent; a
  /// handler's result becomes a TypeError reply. Binary data travels as bytes
  /// (pseud::Bytes, std::vector<char>). Off: for peers that are not Python.
  bool strict_utf8 = true;
  /// Send ext values of types 123..126 (Python pseud's pickled tzinfo,
  /// timedelta, datetime and date). Off (the default), a call or a result
  /// holding one is refused as for strict_utf8, even one received from a
  /// Python peer: the payload is unpickled by the peer it reaches (a payload
  /// that is not a pickle stops its reader; a pickle can run any code there),
  /// and pseud++ cannot tell a value it received from one built in C++.
  /// Turn it on to pass such values on, or for a peer that is not Python.
  bool allow_python_ext = false;
  /// Drop a reply instead of sending it when its handler finished more than
  /// this long after the request arrived: a Python pseud caller has given up
  /// by then (its default timeout is 5 s) and dies on a reply it no longer
  /// expects. Unset: always reply.
  std::optional<std::chrono::milliseconds> reply_deadline{};
  /// Searched after the peer's own registry; must outlive the peer. Null: none.
  const Registry* parent_registry = &global_registry();
  /// Computes the predicate arguments of a caller (default: just its User-Id).
  std::function<PredicateArgs(const Caller&)> predicate_arguments{};
  /// Client only: the ZMQ routing id to present; empty is anonymous (as pseud).
  std::string routing_id{};
  /// Called on the engine's ROUTER socket before any bind or connect, to set
  /// options this struct does not cover (HWMs, TCP keepalive, ZAP domain...).
  std::function<void(zmq::socket_ref)> configure_socket{};
  /// ZMQ context to create sockets in; null uses one process-wide context
  /// (needed for inproc:// between peers, as with pyzmq's Context.instance()).
  std::shared_ptr<zmq::context_t> context{};
};

/// Counters of one peer, read with Peer::stats().
struct PeerStats {
  std::uint64_t calls_sent = 0;          ///< WORK messages put on the wire
  std::uint64_t replies_received = 0;    ///< OK/ERROR matched to a waiting call
  std::uint64_t requests_handled = 0;    ///< WORK answered with OK or ERROR
  std::uint64_t dropped_replies = 0;     ///< OK/ERROR for no waiting call (late, duplicate, unsolicited)
  std::uint64_t misdirected_replies = 0; ///< ... of which from another routing id, user or (server) connection than the WORK went to
  std::uint64_t malformed_messages = 0;  ///< frame sets or bodies refused
  std::uint64_t oversize_messages = 0;   ///< messages over max_message_size
  std::uint64_t unroutable_replies = 0;  ///< replies whose caller had gone
  std::uint64_t expired_replies = 0;     ///< replies dropped for missing PeerOptions::reply_deadline
  std::uint64_t connections_cut = 0;     ///< connections closed for PeerOptions::malformed_limit
  std::uint64_t dropped_after_cut = 0;   ///< messages a closed connection had queued, dropped unread
  std::uint64_t silent_connections_cut = 0;  ///< connections closed for sending nothing (see handshake_timeout)
  std::uint64_t overloaded_requests = 0;     ///< requests refused unrun with OverloadedError
  std::size_t pending_calls = 0;         ///< calls waiting for a reply now
  // Logins checked by password (the plain and untrusted_curve backends), or refused unchecked:
  std::uint64_t auth_checks = 0;              ///< password checks run
  std::uint64_t auth_refused_busy = 0;        ///< refused: the password-check queue was full
  std::uint64_t auth_refused_by_address = 0;  ///< refused: over the per-source-address limits
  std::uint64_t auth_refused_oversize = 0;    ///< refused: login or password over its length cap
  std::uint64_t auth_expired = 0;             ///< refused: no verdict within the ZAP request timeout
};

class Peer;

template <class R>
class CallAwaitable;

/// The function every peer answers with `[{name, doc}, ...]`: the functions
/// visible to the caller (names its predicates refuse are left out).
inline constexpr std::string_view introspection_function = "pseud.inspect";

/// Calls addressed to one peer: a server's name, or a client's routing id or
/// User-Id. Obtained from Peer::send_to() or Client::server().
class Target {
 public:
  Target(Peer& peer, std::string destination) : peer_(&peer), destination_(std::move(destination)) {}

  /// The routing id or User-Id this target addresses.
  const std::string& destination() const noexcept { return destination_; }

  /// Calls `function` and waits for its reply. `args` may include a
  /// KeywordArgs (pseud::kw(...)) and a CallOptions.
  /// Throws RemoteError (and subclasses), TimeoutError, PeerUnreachableError,
  /// CancelledError, PeerStoppedError, ConversionError; UsageError when called
  /// from the peer's engine thread, where waiting would deadlock.
  template <class R = msgpack::object_handle, class... A>
  R call(std::string_view function, A&&... args);

  /// Calls `function`; the future holds the reply or the error.
  template <class R = msgpack::object_handle, class... A>
  std::future<R> async_call(std::string_view function, A&&... args);

  /// Calls `function`; `callback(pseud::Result<R>)` runs once on the engine thread (keep it short).
  template <class R = msgpack::object_handle, class Callback, class... A>
    requires std::invocable<Callback&, Result<R>>
  void async_call(Callback&& callback, std::string_view function, A&&... args);

  /// Calls `function` from a coroutine: `R r = co_await target.co_call<R>(...)`.
  /// The coroutine resumes on the engine thread.
  template <class R = msgpack::object_handle, class... A>
  CallAwaitable<R> co_call(std::string_view function, A&&... args);

 private:
  Peer* peer_;
  std::string destination_;
};

namespace detail {
class Engine;
}  // namespace detail

/// Behaviour shared by Server and Client.
class Peer {
 public:
  Peer(const Peer&) = delete;
  Peer& operator=(const Peer&) = delete;
  /// Stops the peer and waits for running blocking handlers.
  virtual ~Peer();

  /// Binds to `endpoint` (e.g. "tcp://127.0.0.1:*") and returns the bound
  /// address. Throws zmq::error_t naming the endpoint when it fails.
  std::string bind(const std::string& endpoint);

  /// Connects to `endpoint`. Calls made before the connection is up wait for
  /// it (until their deadline); once a connection failed, they fail at once.
  void connect(const std::string& endpoint);

  /// Registers `fn` in this peer's registry (see Registry::register_rpc).
  template <class F>
  void register_rpc(std::string name, F&& fn, RpcOptions options = {}) {
    registry_.register_rpc(std::move(name), std::forward<F>(fn), std::move(options));
  }

  /// This peer's registry (its parent is PeerOptions::parent_registry).
  Registry& registry() noexcept { return registry_; }

  /// Calls addressed to `peer`: a connected peer's routing id or User-Id.
  /// Calls to a peer that is not connected fail at once with PeerUnreachableError.
  Target send_to(std::string peer) { return Target(*this, std::move(peer)); }

  /// Stops the engine: pending calls fail with PeerStoppedError, sockets
  /// close without lingering. Returns within a second; idempotent.
  void stop();

  /// True once stop() was called.
  bool stopped() const noexcept;

  /// A snapshot of this peer's counters.
  PeerStats stats() const;

  /// The connected, authenticated peers now (a server's clients; a client's server).
  std::vector<PeerInfo> connected_peers() const;

  /// This peer's ZMQ routing id: the server's name, or the client's chosen id (empty: anonymous).
  const std::string& routing_id() const noexcept { return routing_id_; }

  /// True on this peer's engine thread (where blocking calls are refused).
  bool on_engine_thread() const noexcept;

  /// Hands a packed call to the engine. Part of the call forms' machinery.
  void submit(detail::OutgoingCall call);

 protected:
  Peer(PeerRole role, std::string routing_id, std::string server_name, const PeerOptions& options);

 private:
  void register_introspection();

  std::string routing_id_;
  Registry registry_;
  std::unique_ptr<detail::Engine> engine_;
};

/// A peer that binds and is addressed by its name (its ZMQ routing id).
class Server : public Peer {
 public:
  /// Throws UsageError for an empty name.
  explicit Server(std::string name, PeerOptions options = {});

  /// The name clients address this server by.
  const std::string& name() const noexcept { return routing_id(); }
};

/// A peer that connects to a server known by name.
class Client : public Peer {
 public:
  /// Throws UsageError for an empty server name.
  explicit Client(std::string server_name, PeerOptions options = {});

  /// The server's name.
  const std::string& server_name() const noexcept { return server_.destination(); }

  /// Calls addressed to the server.
  Target& server() noexcept { return server_; }

  /// Target::call on the server.
  template <class R = msgpack::object_handle, class... A>
  R call(std::string_view function, A&&... args) {
    return server_.call<R>(function, std::forward<A>(args)...);
  }

  /// Target::async_call on the server (future or callback form).
  template <class R = msgpack::object_handle, class First, class... A>
  auto async_call(First&& first, A&&... args) {
    return server_.async_call<R>(std::forward<First>(first), std::forward<A>(args)...);
  }

  /// Target::co_call on the server.
  template <class R = msgpack::object_handle, class... A>
  CallAwaitable<R> co_call(std::string_view function, A&&... args) {
    return server_.co_call<R>(function, std::forward<A>(args)...);
  }

 private:
  Target server_;
};

/// Awaitable of one call. Destroying it while suspended abandons the call:
/// its reply is dropped and the coroutine is not resumed.
template <class R>
class CallAwaitable {
 public:
  CallAwaitable(Peer& peer, detail::OutgoingCall call)
      : peer_(&peer), call_(std::move(call)), state_(std::make_shared<State>()) {}
  CallAwaitable(CallAwaitable&&) noexcept = default;
  CallAwaitable& operator=(CallAwaitable&&) = delete;
  ~CallAwaitable() {
    if (!state_) return;
    std::lock_guard lock(state_->mutex);
    state_->abandoned = true;
  }

  bool await_ready() const noexcept { return false; }

  bool await_suspend(std::coroutine_handle<> handle) {
    state_->handle = handle;
    call_.on_reply = detail::result_handler<R>([state = state_](Result<R> result) {
      std::unique_lock lock(state->mutex);
      state->result.emplace(std::move(result));
      if (!state->waiting || state->abandoned) return;
      auto resume = state->handle;
      lock.unlock();
      resume.resume();
    });
    peer_->submit(std::move(call_));
    std::lock_guard lock(state_->mutex);
    if (state_->result) return false;  // completed inside submit(): do not suspend
    state_->waiting = true;
    return true;
  }

  R await_resume() { return std::move(*state_->result).get(); }

 private:
  struct State {
    std::mutex mutex;
    std::optional<Result<R>> result;
    std::coroutine_handle<> handle;
    bool waiting = false;
    bool abandoned = false;
  };

  Peer* peer_;
  detail::OutgoingCall call_;
  std::shared_ptr<State> state_;
};

template <class R, class... A>
R Target::call(std::string_view function, A&&... args) {
  if (peer_->on_engine_thread()) {
    throw UsageError("call('" + std::string(function) +
                     "') would block the peer's engine thread and deadlock: use async_call or co_call here, "
                     "or register the calling handler with RpcOptions{.blocking = true}");
  }
  return async_call<R>(function, std::forward<A>(args)...).get();
}

template <class R, class... A>
std::future<R> Target::async_call(std::string_view function, A&&... args) {
  auto promise = std::make_shared<std::promise<R>>();
  std::future<R> future = promise->get_future();
  async_call<R>(
      [promise](Result<R> result) {
        if (!result.ok()) return promise->set_exception(result.error());
        if constexpr (std::is_void_v<R>) {
          promise->set_value();
        } else {
          promise->set_value(std::move(result).get());
        }
      },
      function, std::forward<A>(args)...);
  return future;
}

template <class R, class Callback, class... A>
  requires std::invocable<Callback&, Result<R>>
void Target::async_call(Callback&& callback, std::string_view function, A&&... args) {
  detail::OutgoingCall call = detail::pack_call(destination_, function, std::forward<A>(args)...);
  call.on_reply = detail::result_handler<R>(std::forward<Callback>(callback));
  peer_->submit(std::move(call));
}

template <class R, class... A>
CallAwaitable<R> Target::co_call(std::string_view function, A&&... args) {
  return CallAwaitable<R>(*peer_, detail::pack_call(destination_, function, std::forward<A>(args)...));
}

}  // namespace pseud
