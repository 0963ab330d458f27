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
#include "pseud/call_awaitable.hpp"
#include "pseud/caller.hpp"
#include "pseud/detail/call_forms.hpp"
#include "pseud/detail/engine_thread.hpp"
#include "pseud/detail/outgoing_call.hpp"
#include "pseud/errors.hpp"
#include "pseud/heartbeat.hpp"
#include "pseud/metrics.hpp"
#include "pseud/peer_options.hpp"
#include "pseud/registry.hpp"
#include "pseud/settings.hpp"

namespace pseud {

class Peer;

/// The function every peer answers with `[{name, doc}, ...]`: the functions
/// visible to the caller (names its predicates refuse are left out).
inline constexpr std::string_view introspection_function = "pseud.inspect";

/// The function every peer answers with "SERVING" or "NOT_SERVING" for a
/// service (its one parameter, `service`, defaults to "": the peer as a
/// whole); an unknown service gets ServiceNotFoundError. See Peer::set_health.
inline constexpr std::string_view health_function = "pseud.health";
inline constexpr std::string_view health_serving = "SERVING";
inline constexpr std::string_view health_not_serving = "NOT_SERVING";

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
  /// from any peer's engine thread (a non-blocking handler, a callback, a
  /// coroutine after co_call), where waiting could deadlock.
  template <class R = msgpack::object_handle, class... A>
  R call(std::string_view function, A&&... args);

  /// Calls `function`; the future holds the reply or the error.
  template <class R = msgpack::object_handle, class... A>
  std::future<R> async_call(std::string_view function, A&&... args);

  /// Calls `function`; `callback(pseud::Result<R>)` runs once on the engine thread (keep it short).
  template <class R = msgpack::object_handle, class Callback, class... A>
    requires std::invocable<Callback&, Result<R>>
  void async_call(Callback&& callback, std::string_view function, A&&... args);

  /// Calls `function` from a coroutine (a pseud::Task, see task.hpp):
  /// `R r = co_await target.co_call<R>(...)`. The coroutine goes on on the
  /// engine thread of this target's peer, with the reply converted there;
  /// nothing waits meanwhile.
  template <class R = msgpack::object_handle, class... A>
  CallAwaitable<R> co_call(std::string_view function, A&&... args);

  /// Sends `function(args...)` as a notification: a WORK whose reply nobody
  /// awaits (a Python pseud peer handles it as a call; its OK is discarded).
  /// While the destination cannot take it, it waits in the peer's outbox
  /// (PeerOptions::outbox), in order, and leaves when the destination
  /// (re)appears. Never blocks. True when queued; false when dropped for a
  /// full outbox (overflow drop_new). Throws OutboxFullError (overflow fail),
  /// UsageError or MessageTooLargeError (as call() would, nothing queued),
  /// PeerStoppedError. Notifications to one destination leave in the order
  /// they were made; calls and notifications are not ordered between them.
  template <class... A>
  bool notify(std::string_view function, A&&... args);

  /// Executes a typed command (command.hpp): calls the function named by
  /// C's wire name with `command` as its one argument (a dict) and returns
  /// C::result. Throws as call() does; a field of the result that does not
  /// decode is a ConversionError naming it.
  template <Command C>
  command_result_t<C> execute(const C& command, CallOptions options = {}) {
    return call<command_result_t<C>>(command_name_v<C>, command, std::move(options));
  }
  /// Executes a command registered through a scope (Registry::scoped): calls `scope.wire name`.
  template <Command C>
  command_result_t<C> execute(std::string_view scope, const C& command, CallOptions options = {}) {
    return call<command_result_t<C>>(scoped_command_name<C>(scope), command, std::move(options));
  }
  /// execute() as a future.
  template <Command C>
  std::future<command_result_t<C>> execute_async(const C& command, CallOptions options = {}) {
    return async_call<command_result_t<C>>(command_name_v<C>, command, std::move(options));
  }
  /// execute(scope, command) as a future.
  template <Command C>
  std::future<command_result_t<C>> execute_async(std::string_view scope, const C& command, CallOptions options = {}) {
    return async_call<command_result_t<C>>(scoped_command_name<C>(scope), command, std::move(options));
  }
  /// execute() from a coroutine: `int sum = co_await target.co_execute(Add{1, 2})`.
  template <Command C>
  CallAwaitable<command_result_t<C>> co_execute(const C& command, CallOptions options = {}) {
    return co_call<command_result_t<C>>(command_name_v<C>, command, std::move(options));
  }
  /// execute(scope, command) from a coroutine.
  template <Command C>
  CallAwaitable<command_result_t<C>> co_execute(std::string_view scope, const C& command, CallOptions options = {}) {
    return co_call<command_result_t<C>>(scoped_command_name<C>(scope), command, std::move(options));
  }

 private:
  template <Command C>
  static std::string scoped_command_name(std::string_view scope) {
    return std::string(scope) + "." + std::string(command_name_v<C>);
  }

  Peer* peer_;
  std::string destination_;
};

namespace detail {
class Engine;
class HealthTable;
class StopSequence;
struct PeerAccess;
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
  /// Registers member function `method` of `object` (see Registry::register_rpc).
  template <class Method, class Object>
    requires std::is_member_function_pointer_v<Method>
  void register_rpc(std::string name, Method method, Object* object, RpcOptions options = {}) {
    registry_.register_rpc(std::move(name), method, object, std::move(options));
  }
  /// Registers several member functions of `object` (see Registry::register_service).
  template <class Object, class... Methods>
  void register_service(std::string_view prefix, Object& object, MethodSpec<Methods>... methods) {
    registry_.register_service(prefix, object, std::move(methods)...);
  }
  /// Registers a typed command's function (see Registry::register_command).
  template <Command C, class F>
  void register_command(F&& fn, RpcOptions options = {}) {
    registry_.register_command<C>(std::forward<F>(fn), std::move(options));
  }
  /// This peer's registry seen through `prefix` (see Registry::scoped).
  ScopedRegistry scoped(std::string prefix) { return registry_.scoped(std::move(prefix)); }

  /// This peer's registry (its parent is PeerOptions::parent_registry).
  Registry& registry() noexcept { return registry_; }

  /// Calls addressed to `peer`: a connected peer's routing id or User-Id.
  /// Calls to a peer that is not connected fail at once with PeerUnreachableError.
  Target send_to(std::string peer) { return Target(*this, std::move(peer)); }

  /// Stops the engine: pending calls fail with PeerStoppedError, sockets
  /// close without lingering. Returns within a second; idempotent.
  void stop();

  /// Stops gracefully: every service turns NOT_SERVING; new requests are
  /// refused unrun with UnavailableError (pseud.health and pseud.inspect
  /// still answer); the on_stopping hooks run; requests already accepted
  /// (on workers, queued, behind a ReplyChannel or a coroutine) get their
  /// replies sent; then the peer stops as stop() does, leaving the replies
  /// what is left of `grace` to leave. When `grace` runs out first it stops
  /// anyway: what is unanswered is lost (PeerStats::abandoned_at_stop).
  /// Blocks for at most about grace + 1 s (plus what the hooks take).
  /// Harmless when stopping or stopped already (a second call waits for the
  /// first). Throws UsageError on any peer's engine thread.
  void stop(std::chrono::milliseconds grace);

  /// Runs `hook` on the thread of stop(grace), once new requests are
  /// refused and before the sockets close, in the order hooks were added:
  /// the place to withdraw a discovery registration, so that callers stop
  /// choosing this peer while it can still tell them UnavailableError.
  /// Its time counts against the grace. At most 64 hooks (UsageError beyond).
  void on_stopping(std::function<void()> hook);

  /// Declares what pseud.health answers for `service`: "" (or this peer's
  /// own name) is the peer as a whole, and while it is not serving, no
  /// service is. Any other name is a service of the application: at most
  /// 1024 of them, each at most 255 bytes (UsageError beyond). Ignored once
  /// stop(grace) began: everything is NOT_SERVING from then on.
  void set_health(std::string service, bool serving);

  /// What pseud.health answers for `service` now: true for SERVING.
  /// Throws ServiceNotFoundError for a service this peer does not know.
  bool health(std::string_view service = {}) const;

  /// True once stop() was called.
  bool stopped() const noexcept;

  /// A snapshot of this peer's counters.
  PeerStats stats() const;

  /// A snapshot of this peer's metrics per function, both ways (empty with
  /// PeerOptions::metrics off). Remote callers read the same through
  /// pseud.metrics when PeerOptions::metrics_access lets them.
  MetricsSnapshot metrics() const;

  /// The connected, authenticated peers now (a server's clients; a client's server).
  std::vector<PeerInfo> connected_peers() const;

  /// This peer's ZMQ routing id: the server's name, or the client's chosen id (empty: anonymous).
  const std::string& routing_id() const noexcept { return routing_id_; }

  /// True on this peer's engine thread (where blocking calls are refused).
  bool on_engine_thread() const noexcept;

  /// Waits at most `limit` until every notification (Target::notify) has left
  /// the outbox and been answered (OK or ERROR; see PeerStats for the
  /// failed ones). True when none is left; false at the limit, or once the
  /// peer is stopped with some left. Not from the peer's engine thread.
  bool wait_notifications_delivered(std::chrono::milliseconds limit);
  /// As wait_notifications_delivered, but only until every notification has
  /// left the outbox (handed to its connection), answered or not.
  bool wait_notifications_sent(std::chrono::milliseconds limit);

 protected:
  Peer(PeerRole role, std::string routing_id, std::string server_name, const PeerOptions& options);
  /// pseud.health also answers for `name` as for the peer as a whole (an instance's service name).
  void answer_health_as(std::string name);

 private:
  void register_introspection();
  void register_health();
  void register_metrics(const PeerOptions& options);
  // Hands a packed call to the engine: the call forms' machinery, not an API.
  void submit(detail::OutgoingCall call);
  bool notify(detail::OutgoingCall call);
  friend class Target;
  friend struct detail::PeerAccess;

  std::string routing_id_;
  Registry registry_;
  std::unique_ptr<detail::HealthTable> health_;
  std::unique_ptr<detail::StopSequence> stop_sequence_;
  std::unique_ptr<detail::Engine> engine_;
};

/// A peer that binds and is addressed by its name (its ZMQ routing id).
class Server : public Peer {
 public:
  /// Throws UsageError for an empty name, or an instance id holding '@' or '/'.
  explicit Server(std::string name, PeerOptions options = {});

  /// The service name clients address this server by.
  const std::string& name() const noexcept { return name_; }
  /// This instance's id (PeerOptions::instance); empty without one.
  const std::string& instance() const noexcept { return instance_; }

 private:
  Server(std::string name, std::string instance, PeerOptions options);
  std::string name_;
  std::string instance_;
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

  /// Target::notify to the server.
  template <class... A>
  bool notify(std::string_view function, A&&... args) {
    return server_.notify(function, std::forward<A>(args)...);
  }

  /// Target::execute on the server.
  template <Command C>
  command_result_t<C> execute(const C& command, CallOptions options = {}) {
    return server_.execute(command, std::move(options));
  }
  /// Target::execute of a scoped command on the server.
  template <Command C>
  command_result_t<C> execute(std::string_view scope, const C& command, CallOptions options = {}) {
    return server_.execute(scope, command, std::move(options));
  }
  /// Target::execute_async on the server.
  template <Command C>
  std::future<command_result_t<C>> execute_async(const C& command, CallOptions options = {}) {
    return server_.execute_async(command, std::move(options));
  }
  /// Target::execute_async of a scoped command on the server.
  template <Command C>
  std::future<command_result_t<C>> execute_async(std::string_view scope, const C& command, CallOptions options = {}) {
    return server_.execute_async(scope, command, std::move(options));
  }
  /// Target::co_execute on the server.
  template <Command C>
  CallAwaitable<command_result_t<C>> co_execute(const C& command, CallOptions options = {}) {
    return server_.co_execute(command, std::move(options));
  }
  /// Target::co_execute of a scoped command on the server.
  template <Command C>
  CallAwaitable<command_result_t<C>> co_execute(std::string_view scope, const C& command, CallOptions options = {}) {
    return server_.co_execute(scope, command, std::move(options));
  }

 private:
  Target server_;
};

template <class R, class... A>
R Target::call(std::string_view function, A&&... args) {
  detail::refuse_blocking_call(function);
  // The conversion runs on the caller's thread.
  return detail::wait_for_reply<R>([this](detail::OutgoingCall c) { peer_->submit(std::move(c)); },
                                   detail::pack_call(destination_, function, std::forward<A>(args)...));
}

template <class R, class... A>
std::future<R> Target::async_call(std::string_view function, A&&... args) {
  return detail::future_of_reply<R>([this](detail::OutgoingCall c) { peer_->submit(std::move(c)); },
                                    detail::pack_call(destination_, function, std::forward<A>(args)...));
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
  return CallAwaitable<R>([peer = peer_](detail::OutgoingCall c) { peer->submit(std::move(c)); },
                          detail::pack_call(destination_, function, std::forward<A>(args)...));
}

template <class... A>
bool Target::notify(std::string_view function, A&&... args) {
  static_assert((!std::is_same_v<std::remove_cvref_t<A>, CallOptions> && ...),
                "notify() takes no CallOptions: nothing waits for a notification's reply; how long it may wait "
                "to be sent is PeerOptions::outbox.ttl");
  return peer_->notify(detail::pack_call(destination_, function, std::forward<A>(args)...));
}

namespace detail {

/// pseud::detail is not part of the API: it may change in any release.
/// This lets pseud++'s own tools and load tests hand a packed call to a peer
/// as the call forms do.
struct PeerAccess {
  static void submit(Peer& peer, OutgoingCall call) { peer.submit(std::move(call)); }
};

}  // namespace detail

}  // namespace pseud
