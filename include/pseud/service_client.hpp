#pragma once
/// Calls to a service that runs as several instances (servers of one name,
/// each with its own PeerOptions::instance), on one host or many: a
/// ServiceClient connects to each instance, spreads calls over the live ones
/// by a policy, and moves a call to another instance only when that is safe.
///
///   pseud::ServiceClient echo("echo");
///   echo.connect({"tcp://10.0.0.1:5555", "tcp://10.0.0.2:5555"});
///   // or: echo.connect_service(pseud::make_discovery("etcd://10.0.0.9:2379"));
///   std::string r = echo.call<std::string>("echo", "hi");

#include <chrono>
#include <cstdint>
#include <future>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pseud/call_awaitable.hpp"
#include "pseud/detail/call_forms.hpp"
#include "pseud/detail/engine_thread.hpp"
#include "pseud/detail/outgoing_call.hpp"
#include "pseud/discovery.hpp"
#include "pseud/peer_options.hpp"
#include "pseud/registry.hpp"

namespace pseud {

/// How a call picks its instance. Only instances whose handshake completed
/// and that are not declared gone (by their connection closing, or by the
/// heartbeat backend) are candidates: no call is queued for a dead one.
enum class Policy {
  round_robin,        ///< each live instance in turn
  first_alive,        ///< the first live one, in the order they were connected (zguide's Freelance)
  least_outstanding,  ///< the live one with the fewest calls waiting for a reply
};

struct ServiceClientOptions {
  /// Options of every connection: authentication, heartbeat (liveness is
  /// what notices an instance that hangs), default_timeout, limits...
  /// `routing_id`, if set, is presented to every instance.
  PeerOptions peer{};
  Policy policy = Policy::round_robin;
  /// After a connection is lost libzmq retries after `reconnect_min`,
  /// doubling up to `reconnect_max`, and starts again from `reconnect_min`
  /// once connected (zguide's Paranoid Pirate).
  std::chrono::milliseconds reconnect_min{100};
  std::chrono::milliseconds reconnect_max{32000};
  /// Calls waiting for a live instance (while none is up): past either
  /// bound a call fails at once with PeerUnreachableError.
  std::size_t max_waiting_calls = 10000;
  std::size_t max_waiting_bytes = 64 * 1024 * 1024;
  /// An instance published with several endpoints is connected at the
  /// first; when no handshake completes there for this long (or it is lost
  /// and not back within it) the next is tried, and so on in turn. 0: never.
  std::chrono::milliseconds endpoint_fallback{2000};
  /// Instances at once (endpoints plus discovered ones); more are refused (logged).
  std::size_t max_instances = 256;
};

/// One instance as a ServiceClient sees it.
struct InstanceStatus {
  std::string endpoint;         ///< where it is connected
  std::string instance;         ///< its instance id (from discovery, or from the routing id it announced)
  std::string routing_id;       ///< the routing id it announced; empty until it has spoken
  bool alive = false;           ///< handshake completed and not declared gone
  std::size_t outstanding = 0;  ///< calls sent to it and not answered yet
  std::uint64_t calls = 0;      ///< calls sent to it so far
};

namespace detail {
class ServiceCore;
}

/// A client of every instance of one service. Thread-safe, like Peer.
///
/// Where a call goes: to one live instance picked by the policy. If the
/// instance could not take it (no route to it, it was declared gone before
/// the call was sent, its handshake failed, or it refused the call unrun
/// with UnavailableError or OverloadedError), the call moves to another
/// instance, within its deadline. If the call was delivered and the instance
/// was then lost, the call may have run: it moves only when the caller
/// marked it CallOptions::idempotent, and otherwise fails with
/// OutcomeUnknownError. While no instance is live (at start, or all down),
/// calls wait for one, within their deadline (bounded: max_waiting_calls).
class ServiceClient {
 public:
  /// Throws UsageError for an empty service name.
  explicit ServiceClient(std::string service, ServiceClientOptions options = {});
  ServiceClient(const ServiceClient&) = delete;
  ServiceClient& operator=(const ServiceClient&) = delete;
  /// Stops: calls not answered fail with PeerStoppedError.
  ~ServiceClient();

  /// Connects to one more instance at `endpoint` (one server per endpoint;
  /// its routing id is learned, nothing to configure). Throws Error for an
  /// endpoint libzmq refuses, UsageError past max_instances.
  void connect(const std::string& endpoint);
  /// connect() for each.
  void connect(const std::vector<std::string>& endpoints);

  /// Follows the service's instances in `discovery`: connects to each one
  /// that appears (and whose version is in `version_range`), and drops each
  /// one that goes. `version_range`: "" (any), "1.2" (>=1.2, <2), or
  /// comparisons joined by commas (">=1.2.0,<1.5"). Throws UsageError for a
  /// range it cannot read, or when already following a discovery.
  void connect_service(std::shared_ptr<Discovery> discovery, std::string version_range = {});

  /// Calls `function` on one instance and waits for the reply (see Target::call).
  template <class R = msgpack::object_handle, class... A>
  R call(std::string_view function, A&&... args) {
    detail::refuse_blocking_call(function);
    return detail::wait_for_reply<R>([this](detail::OutgoingCall c) { submit(std::move(c)); },
                                     detail::pack_call(service_, function, std::forward<A>(args)...));
  }

  /// Calls `function`; the future holds the reply or the error.
  template <class R = msgpack::object_handle, class... A>
  std::future<R> async_call(std::string_view function, A&&... args) {
    return detail::future_of_reply<R>([this](detail::OutgoingCall c) { submit(std::move(c)); },
                                      detail::pack_call(service_, function, std::forward<A>(args)...));
  }

  /// Calls `function`; `callback(pseud::Result<R>)` runs once, on an engine thread (keep it short).
  template <class R = msgpack::object_handle, class Callback, class... A>
    requires std::invocable<Callback&, Result<R>>
  void async_call(Callback&& callback, std::string_view function, A&&... args) {
    detail::OutgoingCall call = detail::pack_call(service_, function, std::forward<A>(args)...);
    call.on_reply = detail::result_handler<R>(std::forward<Callback>(callback));
    submit(std::move(call));
  }

  /// Calls `function` from a coroutine (a pseud::Task, see task.hpp):
  /// `R r = co_await service.co_call<R>(...)`. The coroutine goes on on the
  /// engine thread of the instance that answered (or the ServiceClient's own
  /// thread when the call failed without one); nothing waits meanwhile.
  template <class R = msgpack::object_handle, class... A>
  CallAwaitable<R> co_call(std::string_view function, A&&... args) {
    return CallAwaitable<R>([this](detail::OutgoingCall c) { submit(std::move(c)); },
                            detail::pack_call(service_, function, std::forward<A>(args)...));
  }

  /// Functions the instances may call back on this client (any connection).
  Registry& registry() noexcept;
  template <class F>
  void register_rpc(std::string name, F&& fn, RpcOptions options = {}) {
    registry().register_rpc(std::move(name), std::forward<F>(fn), std::move(options));
  }

  /// The instances now, in the order they were connected.
  std::vector<InstanceStatus> instances() const;

  /// Waits until at least `count` instances are live, at most `limit`, and
  /// returns how many are. Calls need not wait for it (they wait for one
  /// live instance by themselves); it is for spreading the first calls
  /// over every instance, and for tools that report who is up.
  std::size_t wait_for_alive(std::size_t count, std::chrono::milliseconds limit);

  const std::string& service() const noexcept { return service_; }

  /// Stops every connection; calls not answered fail with PeerStoppedError. Idempotent.
  void stop();

 private:
  void submit(detail::OutgoingCall call);

  std::string service_;
  std::shared_ptr<detail::ServiceCore> core_;
};

}  // namespace pseud
