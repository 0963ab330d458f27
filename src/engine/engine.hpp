#pragma once
// Layer 4 (engine): one thread owning a peer's ROUTER socket, its monitor,
// the pending-call table and the deadline heap. Other threads reach it
// through its command queue, or, for a call made while the engine thread
// waits in poll, by taking its state lock and sending the call themselves.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <deque>
#include <queue>
#include <map>
#include <set>
#include <stop_token>
#include <string>
#include <thread>
#include <unordered_map>
#include <variant>
#include <vector>

#include <zmq.hpp>

#include "engine/client_link.hpp"
#include "engine/command_queue.hpp"
#include "engine/connection_table.hpp"
#include "engine/handler_errors.hpp"
#include "engine/in_flight.hpp"
#include "engine/malformed_limiter.hpp"
#include "engine/message_id.hpp"
#include "engine/notification_outbox.hpp"
#include "engine/outbox.hpp"
#include "engine/peer_table.hpp"
#include "engine/pending_calls.hpp"
#include "engine/reply_sink.hpp"
#include "engine/request_budget.hpp"
#include "engine/state_guard.hpp"
#include "engine/unauthenticated_table.hpp"
#include "engine/worker_pool.hpp"
#include "observe/call_observer.hpp"
#include "observe/incoming_span.hpp"
#include "pseud/auth.hpp"
#include "pseud/detail/outgoing_call.hpp"
#include "pseud/heartbeat.hpp"
#include "pseud/peer_options.hpp"
#include "security/check_pool.hpp"
#include "wire/bodies.hpp"
#include "wire/frames.hpp"

namespace pseud::detail {

/// Marks the calling thread as an engine thread (engine_thread.cpp).
void mark_engine_thread() noexcept;

class Engine;

/// Why binding `endpoint` must be refused: an ipc path that exists and is not a socket.
std::optional<std::string> refuse_ipc_path(std::string_view endpoint);

struct CallCommand {
  MessageId id;
  OutgoingCall call;
};
struct ReplyCommand {
  std::string routing_id;
  std::string id;
  wire::MessageType type;
  pseud::detail::WireBuffer body;
  std::chrono::steady_clock::time_point received;  // when the request arrived
  RequestHold hold;  // the request, until this reply is sent (see in_flight.hpp)
};
struct CancelCommand {
  MessageId id;
};
struct BindCommand {
  std::string endpoint;
  std::promise<std::string> done;
};
struct ConnectCommand {
  std::string endpoint;
  std::promise<void> done;
};
struct TaskCommand {
  std::function<void()> run;
};
struct StopCommand {
  std::chrono::milliseconds linger{0};  // how long replies handed to libzmq may still take to leave
};
using Command =
    std::variant<CallCommand, ReplyCommand, CancelCommand, BindCommand, ConnectCommand, TaskCommand, StopCommand>;

/// How a password check (AuthHost::defer) hands its result back: to the
/// engine's queue while the engine runs, to nobody once it stops. Shared with
/// the checks, which may outlive the engine.
class DeferGate {
 public:
  explicit DeferGate(CommandQueue<Command>* queue) noexcept : queue_(queue) {}
  /// Queues `done` for the engine thread, or drops it once closed.
  void deliver(std::function<void()> done);
  void close() noexcept;

 private:
  std::mutex mutex_;
  CommandQueue<Command>* queue_;  // null once closed
};

class Engine final : private AuthHost, private HeartbeatHost {
 public:
  using Clock = std::chrono::steady_clock;

  /// `server_name` is the server a client calls by default (empty for a
  /// server). The peer builds the backends (from options.auth and
  /// options.heartbeat) and hands them over; neither may be null.
  Engine(PeerRole role, std::string routing_id, std::string server_name, const PeerOptions& options,
         const Registry& registry, std::unique_ptr<AuthBackend> auth, std::unique_ptr<HeartbeatBackend> heartbeat);
  ~Engine() override;
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  std::string bind(const std::string& endpoint);
  void connect(const std::string& endpoint);
  void submit(OutgoingCall&& call);
  /// Queues a notification for its destination (any thread): true when
  /// queued, false when dropped for a full outbox (drop_new, or too large for
  /// it). Throws OutboxFullError (overflow fail), UsageError,
  /// MessageTooLargeError or PeerStoppedError.
  bool notify(OutgoingCall&& call);
  /// Waits until no notification waits in the outbox (and, when `answered`,
  /// for its answer), or `deadline`, or the engine ends; true when none
  /// does. Not from the engine thread.
  bool wait_for_notifications(Clock::time_point deadline, bool answered);
  void cancel(const MessageId& id) noexcept;
  void stop();
  /// From now on refuses new requests, unrun, with UnavailableError, except
  /// calls to `still_answered` (the peer's health and introspection). Any thread; once.
  void refuse_new_work(std::vector<std::string> still_answered);
  /// Waits (at most until `deadline`) for the requests already accepted to
  /// be answered, then stops; replies handed to libzmq get what is left of
  /// the time to leave. Not from the engine thread.
  void stop_after_draining(Clock::time_point deadline);
  void wait_for_quiet(Clock::time_point deadline);
  bool stopped() const noexcept { return stop_requested_.load(); }
  bool on_engine_thread() const noexcept { return std::this_thread::get_id() == thread_id_; }
  PeerStats stats() const;
  MetricsSnapshot metrics() const { return observer_->metrics(); }
  std::vector<PeerInfo> connected_peers() const;

 private:
  struct Counters {
    std::atomic<std::uint64_t> calls_sent{0}, replies_received{0}, requests_handled{0}, dropped_replies{0},
        malformed_messages{0}, oversize_messages{0}, unroutable_replies{0}, expired_replies{0}, connections_cut{0},
        dropped_after_cut{0}, misdirected_replies{0}, silent_connections_cut{0}, overloaded_requests{0},
        refused_stopping{0}, abandoned_at_stop{0}, notifications_sent{0}, notifications_failed{0},
        notifications_dropped{0}, notifications_expired{0}, notifications_abandoned{0};
  };

  // engine.cpp: lifecycle, the loop, commands, timers
  void run();
  void process(Command& command);
  void fire_deadlines();
  void sweep_if_due(Clock::time_point now);
  void enable_ipv6_for(std::string_view endpoint);
  std::optional<Clock::time_point> next_wake() const;
  Clock::time_point planned_wake(Clock::time_point now) const;
  void shut_down();

  // outbound.cpp: calls and replies we send
  /// Why `call` must not be sent (a Python peer could not take it, or it is too large); null when it may.
  std::exception_ptr refuse_to_send(const OutgoingCall& call) const;
  /// A call that failed before it was sent: its completion still to run.
  struct Undelivered {
    ReplyHandler on_reply;
    std::string function;
    std::exception_ptr error;
  };
  bool try_direct_call(CallCommand& command);
  bool try_direct_reply(ReplyCommand& reply);
  void deliver_reply(ReplyCommand&& reply);  // a ReplyChannel's answer, from any thread
  std::optional<Undelivered> start_call(CallCommand& command);
  void wake_if_router_readable();
  bool waits_for_route(const PendingCall& call) const;
  bool should_park(int send_error, const PendingCall& call) const;
  std::string unreachable_text(const PendingCall& call) const;
  bool awaits_handshake(std::string_view routing_id) const;
  bool try_send_parked(const MessageId& id, PendingCall& call);
  void retry_parked();
  void complete(const MessageId& id, msgpack::object_handle* reply, std::exception_ptr error);
  void complete_outside_lock(const MessageId& id, msgpack::object_handle* reply, std::exception_ptr error);
  enum class Failure { unreachable, handshake, gone };
  static std::exception_ptr make_failure(Failure kind, std::string message);
  std::exception_ptr unreachable_error(const PendingCall& call) const;
  void fail_calls_to(std::string_view routing_id, bool only_parked, Failure kind, const std::string& why);
  int send_message(std::string_view routing_id, std::string_view id, wire::MessageType type, zmq::message_t& body);
  int send_raw(std::string_view routing_id, std::string_view id, wire::MessageType type, std::string_view body);
  void send_reply(std::string_view routing_id, std::string_view id, wire::MessageType type, pseud::detail::WireBuffer&& body);
  void send_handler_reply(std::string_view routing_id, std::string_view id, wire::MessageType type,
                          pseud::detail::WireBuffer&& body, Clock::time_point received);
  void send_error(std::string_view routing_id, std::string_view id, std::string_view name, std::string_view message);
  /// True (having answered UnavailableError) when the peer stops gracefully and `function` is not still answered.
  bool refuse_while_stopping(std::string_view rid, std::string_view id, std::string_view function);
  /// The routing id to send to `destination`, empty when nobody may receive it.
  std::string resolve(const std::string& destination) const;
  bool routes_only_to_users() const noexcept;
  void address(PendingCall& call) const;

  // notifications.cpp: the outbox and what leaves it
  bool notifications_due(Clock::time_point now) const;
  void flush_notifications();
  NotificationOutbox::Sent send_notification(const std::string& destination, Notification& notification,
                                             bool& queue_full);
  void follow_notification(const MessageId& id, const std::string& destination, const std::string& function);
  void notification_settled(bool failed);
  bool notifications_settled(bool answered) const;
  void announce_notifications();  // wakes wait_for_notifications to look again
  void abandon_notifications();

  // connection_events.cpp: the socket monitor
  void drain_monitor();
  bool is_own_connection(int event, int fd, const std::string& endpoint);
  bool from_verified_connection();
  void on_client_event(int event, const std::string& endpoint);
  void on_server_event(int event, int value, const std::string& endpoint);
  void reconnect_stalled_endpoints();
  void connect_router(const std::string& endpoint, bool reconnecting);
  bool alias_is_free();
  void close_silent_connections(Clock::time_point now);
  std::string failure_reason(const std::string& endpoint, int event) const;

  // inbound.cpp: everything that arrives on the ROUTER socket
  void drain_router();
  bool receive_frames(std::size_t& count, std::size_t& total);
  void handle_frames(std::size_t count, std::size_t total);
  void answer_req(std::size_t count, const zmq::message_t& last, std::string_view sender, std::string_view why);
  void handle_work(const wire::Envelope& envelope, const std::string& user);
  void offload_work(std::string_view rid, std::string_view id, const std::string& user);
  void refuse_undecodable(std::string_view rid, std::string_view id, wire::BodyError error);
  std::shared_ptr<RequestBudget::Ticket> admit(std::string_view rid, std::string_view id, std::size_t bytes);
  /// `ticket` is set for a request admitted before it was decoded (offload_work):
  /// accepted already, it runs even if the peer began stopping meanwhile.
  void dispatch_work(std::string_view rid, std::string_view id, const std::string& user, msgpack::object_handle handle,
                     std::size_t body_size, std::shared_ptr<RequestBudget::Ticket> ticket);
  void handle_reply(const wire::Envelope& envelope, const std::string& user);
  void handle_auth_reply(const wire::Envelope& envelope, const MessageId& id);
  /// Runs the handler; true when it answers through a ReplyChannel (which
  /// sends the answer), false with the reply in `type` and `body`.
  bool run_handler(const std::shared_ptr<const Route>& route, const wire::WorkBody& work, const Caller& caller,
                   std::string_view id, Clock::time_point received, IncomingSpan& span, wire::MessageType& type,
                   pseud::detail::WireBuffer& body) const;
  /// Tells the observer of a request refused before a function was found for it.
  void observe_refusal(std::string_view function, std::string_view rid, const std::string& user,
                       Clock::time_point received, std::string_view error_name);

  // peer_events.cpp: peers joining and leaving
  void note_peer(std::string_view routing_id, const std::string& user, int fd, bool heartbeat, bool is_req);

  // malformed_limit.cpp: closing connections that keep sending malformed messages
  void note_malformed();
  void cut_connection(int fd);
  bool comes_from_cut_connection(std::string_view sender);
  void peer_gone(std::string_view routing_id, std::string_view reason);

  // AuthHost (auth_host.cpp)
  PeerRole role() const noexcept override { return role_; }
  const std::string& own_routing_id() const noexcept override { return routing_id_; }
  zmq::socket_ref socket() noexcept override { return router_; }
  zmq::context_t& context() noexcept override { return *context_; }
  void send_unauthorized(std::string_view routing_id, std::string_view id, std::string_view text) override;
  void send_authenticated(std::string_view routing_id, std::string_view id, std::string_view text) override;
  void bind_user(std::string_view user, std::string_view routing_id) override;
  void send_hello(std::string_view routing_id, std::string_view id, std::string_view login,
                  std::string_view password) override;
  bool resend_work(std::string_view id) override;
  void fail_call(std::string_view id, std::string_view message) override;
  bool defer(std::function<void()> work, std::function<void()> done) override;

  // unauthenticated.cpp: connections that spoke before authenticating, so
  // that the backend forgets them (AuthBackend::forget) once they close
  void note_unauthenticated(std::string_view routing_id);
  void unauthenticated_gone(int fd);

  // HeartbeatHost (peer_events.cpp)
  void for_each_peer(const std::function<void(const PeerState&)>& visit) const override;
  bool send_heartbeat(std::string_view routing_id) override;
  void declare_gone(std::string_view routing_id, std::string_view reason) override;

  const PeerRole role_;
  const std::string routing_id_;
  const std::string server_name_;
  const PeerOptions options_;
  const Registry& registry_;
  std::shared_ptr<zmq::context_t> context_;
  std::unique_ptr<AuthBackend> auth_;
  std::unique_ptr<HeartbeatBackend> heartbeat_;
  zmq::socket_t router_;
  zmq::socket_t monitor_;
  Outbox outbox_{router_};  // everything sent on router_
  std::string monitor_endpoint_;
  CommandQueue<Command> queue_;
  std::shared_ptr<DeferGate> defer_gate_ = std::make_shared<DeferGate>(&queue_);
  // Where ReplyChannels answer; closed at shut_down (channels may outlive the engine).
  std::shared_ptr<ReplySink> reply_sink_;
  std::shared_ptr<const HandlerErrors> handler_errors_;  // shared with the reply channels
  // Interceptors, metrics and per-call log lines; shared with workers' jobs and reply channels.
  std::shared_ptr<CallObserver> observer_;
  std::shared_ptr<security::CheckPool> check_pool_;  // the process's, once a check was deferred
  // Requests accepted and not answered yet, for a graceful stop; shared with their holds.
  std::shared_ptr<InFlightRequests> in_flight_ = std::make_shared<InFlightRequests>();
  // Set once by refuse_new_work; still_answered_ is written before refusing_ is, and never after.
  std::atomic<bool> refusing_{false};
  std::vector<std::string> still_answered_;

  // Engine state, below, under the guard: see state_guard.hpp for who may
  // touch it from which thread.
  StateGuard guard_;
  MalformedLimiter malformed_{options_.malformed_limit};
  int current_fd_ = -1;  // the descriptor of the message being handled (-1: inproc, or none)
  bool router_touched_ = false;  // sent on, or asked, since the router was last read dry (see run())
  bool router_unread_ = false;   // the last drain stopped at its budget
  std::optional<std::chrono::milliseconds> last_call_timeout_;  // of the last call started, for planned_wake()
  PendingCalls calls_;
  std::optional<std::chrono::milliseconds> sweep_interval_;
  Clock::time_point next_sweep_{};
  ClientLink link_{server_name_, options_.fail_fast};  // client: the link to its server
  std::string aliased_endpoint_;  // client: the connection addressed as server_name_ (connect_router)
  std::vector<int> self_connected_fds_;  // client: TCP connections to itself, closed (is_own_connection)
  std::string self_connected_endpoint_;  // client: ... the endpoint of the last one, until it is reported closed
  int verified_fd_ = -1;          // client: the connection last found not to be to itself
  PeerTable peers_;
  ConnectionTable connections_;                      // server: every accepted connection, by descriptor
  std::optional<std::chrono::milliseconds> silence_limit_;  // from the heartbeat backend
  UnauthenticatedTable unauthenticated_;  // server: connections not logged in yet
  std::array<zmq::message_t, 6> frames_;
  zmq::message_t overflow_frame_;
  bool stopping_ = false;
  std::chrono::milliseconds linger_at_stop_{0};  // from the StopCommand
  Clock::time_point next_notification_try_ = Clock::time_point::max();

  // Notifications: the outbox has its own lock (any thread puts), the rest is atomic.
  NotificationOutbox notifications_{options_.outbox};
  std::atomic<bool> notifications_put_{false};  // put since the engine's last pass
  std::atomic<bool> notification_retry_{false};  // a peer joined, or room came back for answers
  std::atomic<std::size_t> notifications_unanswered_{0};
  std::atomic<int> notification_waiters_{0};
  std::atomic<bool> engine_ended_{false};
  std::mutex notification_mutex_;
  std::condition_variable notification_changed_;

  Counters counters_;
  std::atomic<bool> stop_requested_{false};
  std::once_flag joined_;
  RequestBudget budget_;  // before the pools: their jobs hold tickets until joined
  WorkerPool pool_;  // after queue_: its jobs post replies to the queue until joined
  WorkerPool decode_pool_;  // decodes large request bodies (offload_work)
  std::thread thread_;
  std::thread::id thread_id_;
};

}  // namespace pseud::detail
