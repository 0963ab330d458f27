#include "engine/engine.hpp"

#include <poll.h>
#include <pthread.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <zmq.h>

#include "engine/engine_util.hpp"

namespace pseud::detail {

namespace {

std::atomic<std::uint64_t> monitor_counter{0};
// Open ReplyChannels, all callers together: each holds its caller's names
// and a few hundred bytes; the per-caller bound is max_requests_per_peer.
constexpr std::size_t max_open_reply_channels = 65536;

}  // namespace

void CancelRequest::operator()() const noexcept { engine->cancel(id); }

Engine::Engine(PeerRole role, std::string routing_id, std::string server_name, const PeerOptions& options,
               const Registry& registry, std::unique_ptr<AuthBackend> auth,
               std::unique_ptr<HeartbeatBackend> heartbeat)
    : role_(role),
      routing_id_(std::move(routing_id)),
      server_name_(std::move(server_name)),
      options_(options),
      registry_(registry),
      context_(options.context),
      auth_(std::move(auth)),
      heartbeat_(std::move(heartbeat)),
      router_(*context_, zmq::socket_type::router),
      budget_({options.max_requests_per_peer, options.max_request_bytes_per_peer, options.max_request_bytes}),
      pool_(options.worker_threads, "pseud-handler"),
      decode_pool_(1, "pseud-decode") {
  handler_errors_ = std::make_shared<const HandlerErrors>(options_.send_tracebacks, options_.on_handler_error);
  observer_ = std::make_shared<CallObserver>(options_.interceptors, options_.metrics, options_.max_metrics_functions);
  reply_sink_ = std::make_shared<ReplySink>([this](ReplyCommand&& reply) { deliver_reply(std::move(reply)); },
                                            handler_errors_, options_.max_requests_per_peer, max_open_reply_channels);
  static const bool random_ready = (MessageId::initialise_random(), true);
  (void)random_ready;
  router_.set(zmq::sockopt::linger, 0);
  router_.set(zmq::sockopt::router_mandatory, 1);
  // A server's routing id belongs to the connection that first presented it:
  // a second one reusing it must not take its route, unless the backend says
  // a routing id is all there is (noop). A client's peers are the servers it
  // connected to: one that restarts must get its name back.
  const bool takeover = role_ == PeerRole::client || auth_->allows_routing_id_takeover();
  router_.set(zmq::sockopt::router_handover, takeover ? 1 : 0);
  router_.set(zmq::sockopt::maxmsgsize, static_cast<std::int64_t>(options_.max_message_size));
  router_.set(zmq::sockopt::sndhwm, options_.queue_limit);
  router_.set(zmq::sockopt::rcvhwm, options_.queue_limit);
  // libzmq's default accept backlog (100) overflows when thousands of clients
  // connect at once, and their handshakes then stall for seconds. The kernel
  // caps this at net.core.somaxconn.
  router_.set(zmq::sockopt::backlog, 4096);
  router_.set(zmq::sockopt::handshake_ivl, static_cast<int>(options_.handshake_timeout.count()));
  if (!routing_id_.empty()) router_.set(zmq::sockopt::routing_id, routing_id_);
  if (role_ == PeerRole::client) router_.set(zmq::sockopt::probe_router, 1);

  monitor_endpoint_ = "inproc://pseud.monitor." + std::to_string(monitor_counter.fetch_add(1));
  const int events = ZMQ_EVENT_CONNECTED | ZMQ_EVENT_CONNECT_DELAYED | ZMQ_EVENT_HANDSHAKE_SUCCEEDED |
                     ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_CONNECT_RETRIED | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                     ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_ACCEPTED;
  if (zmq_socket_monitor(router_.handle(), monitor_endpoint_.c_str(), events) != 0) throw zmq::error_t();
  monitor_ = zmq::socket_t(*context_, zmq::socket_type::pair);
  monitor_.set(zmq::sockopt::linger, 0);
  monitor_.connect(monitor_endpoint_);

  // Authentication (socket options, the ZAP handler) is in place before any
  // bind or connect can happen: those are commands to the thread started below.
  auth_->configure(*this);
  heartbeat_->configure(*this);
  sweep_interval_ = heartbeat_->sweep_interval();
  silence_limit_ = heartbeat_->silence_limit();
  connections_.track_silence(role_ == PeerRole::server && silence_limit_.has_value());
  if (sweep_interval_) next_sweep_ = Clock::now() + *sweep_interval_;
  if (options_.configure_socket) options_.configure_socket(router_);
  thread_ = std::thread([this] { run(); });
  thread_id_ = thread_.get_id();
}

Engine::~Engine() { stop(); }

void Engine::stop() {
  if (!stop_requested_.exchange(true)) queue_.push(StopCommand{});
  in_flight_->interrupt();  // a graceful stop waiting for replies stops waiting
  if (on_engine_thread()) return;  // stop() from a handler: the destructor joins
  std::call_once(joined_, [this] {
    if (thread_.joinable()) thread_.join();
  });
}

void Engine::refuse_new_work(std::vector<std::string> still_answered) {
  if (refusing_.load(std::memory_order_acquire)) return;
  still_answered_ = std::move(still_answered);
  refusing_.store(true, std::memory_order_release);
}

void Engine::stop_after_draining(Clock::time_point deadline) {
  // Replies still to come (from workers, reply channels, coroutines) reach
  // the engine, which sends them, until every accepted request is answered.
  in_flight_->wait_idle(deadline);
  wait_for_notifications(deadline, true);
  wait_for_quiet(deadline);
  const auto left = std::chrono::floor<std::chrono::milliseconds>(deadline - Clock::now());
  if (!stop_requested_.exchange(true)) queue_.push(StopCommand{std::max(left, std::chrono::milliseconds(0))});
  std::call_once(joined_, [this] {
    if (thread_.joinable()) thread_.join();
  });
}

void Engine::wait_for_quiet(Clock::time_point deadline) {
  // Calls sent before their callers learnt that this peer stops may still be
  // on their way, or queued in the socket unread: closing now would drop
  // them with the connection, and their callers could not tell whether they
  // ran. Refused instead (UnavailableError: they did not run, and may go
  // elsewhere), until none has come for a while.
  constexpr auto quiet = std::chrono::milliseconds(50);
  constexpr auto step = std::chrono::milliseconds(5);
  auto refused = counters_.refused_stopping.load(std::memory_order_relaxed);
  auto quiet_since = Clock::now();
  while (true) {
    const auto now = Clock::now();
    if (now - quiet_since >= quiet || now >= deadline || stop_requested_.load()) return;
    std::this_thread::sleep_for(std::min<Clock::duration>(step, deadline - now));  // a bounded poll of a counter
    const auto seen = counters_.refused_stopping.load(std::memory_order_relaxed);
    if (seen != refused) {
      refused = seen;
      quiet_since = Clock::now();
    }
  }
}

std::string Engine::bind(const std::string& endpoint) {
  BindCommand command{endpoint, {}};
  auto done = command.done.get_future();
  if (on_engine_thread()) throw UsageError("bind() cannot be called from the peer's engine thread");
  if (!queue_.push(std::move(command))) throw PeerStoppedError("bind(" + endpoint + "): the peer is stopped");
  return done.get();
}

void Engine::connect(const std::string& endpoint) {
  ConnectCommand command{endpoint, {}};
  auto done = command.done.get_future();
  if (on_engine_thread()) throw UsageError("connect() cannot be called from the peer's engine thread");
  if (!queue_.push(std::move(command))) throw PeerStoppedError("connect(" + endpoint + "): the peer is stopped");
  done.get();
}

std::exception_ptr Engine::refuse_to_send(const OutgoingCall& call) const {
  const wire::PythonChecks checks{options_.strict_map_keys, options_.strict_utf8, !options_.allow_python_ext};
  if (const std::string_view body{call.body.data(), call.body.size()}; checks.any()) {
    if (const wire::PythonFinding finding = wire::find_python_hazard(body, checks)) {
      return failure<UsageError>("call to '" + call.function + "': nothing was sent: " +
                                 wire::describe_python_hazard(body, finding, true) + ". " +
                                 std::string(wire::python_hazard_remedy(finding.hazard)));
    }
  }
  if (call.body.size() > options_.max_message_size) {
    return failure<MessageTooLargeError>("call to '" + call.function + "' is " + std::to_string(call.body.size()) +
                                         " bytes, over the limit of " + std::to_string(options_.max_message_size) +
                                         " bytes (PeerOptions::max_message_size); nothing was sent");
  }
  return nullptr;
}

void Engine::submit(OutgoingCall&& call) {
  if (observer_->watching()) {
    const auto now = Clock::now();
    CallInfo info{CallDirection::outgoing, call.function, call.destination, {}, now,
                  call.options.deadline ? *call.options.deadline
                                        : now + call.options.timeout.value_or(options_.default_timeout)};
    FunctionCounters* counters = observer_->begin(info);
    if (std::exception_ptr refusal = observer_->ask(info)) {
      observer_->end(info, counters, CallOutcome::refused, detail::describe_declared(refusal).name, Clock::now());
      deliver(call.on_reply, call.function, nullptr, std::move(refusal));
      return;
    }
    call.on_reply = observed_completion(observer_, info, counters, std::move(call.on_reply));
  }
  if (auto refusal = refuse_to_send(call)) {
    deliver(call.on_reply, call.function, nullptr, std::move(refusal));
    return;
  }
  Command command = CallCommand{MessageId::generate(), std::move(call)};
  if (try_direct_call(std::get<CallCommand>(command))) return;
  if (!queue_.push(std::move(command))) {
    auto& rejected = std::get<CallCommand>(command).call;
    deliver(rejected.on_reply, rejected.function, nullptr,
            failure<PeerStoppedError>("call to '" + rejected.function + "': the peer is stopped"));
  }
}

void Engine::cancel(const MessageId& id) noexcept {
  try {
    queue_.push(CancelCommand{id});
  } catch (...) {
  }
}

PeerStats Engine::stats() const {
  PeerStats s;
  s.calls_sent = counters_.calls_sent.load();
  s.replies_received = counters_.replies_received.load();
  s.requests_handled = counters_.requests_handled.load();
  s.dropped_replies = counters_.dropped_replies.load();
  s.malformed_messages = counters_.malformed_messages.load();
  s.connections_cut = counters_.connections_cut.load();
  s.dropped_after_cut = counters_.dropped_after_cut.load();
  s.misdirected_replies = counters_.misdirected_replies.load();
  s.silent_connections_cut = counters_.silent_connections_cut.load();
  s.overloaded_requests = counters_.overloaded_requests.load();
  s.refused_stopping = counters_.refused_stopping.load();
  s.abandoned_at_stop = counters_.abandoned_at_stop.load();
  s.oversize_messages = counters_.oversize_messages.load();
  s.unroutable_replies = counters_.unroutable_replies.load();
  s.expired_replies = counters_.expired_replies.load();
  s.late_replies = reply_sink_->late_replies();
  s.open_reply_channels = reply_sink_->open_channels();
  s.pending_calls = calls_.size();
  s.notifications_sent = counters_.notifications_sent.load();
  s.notifications_failed = counters_.notifications_failed.load();
  s.notifications_dropped = counters_.notifications_dropped.load();
  s.notifications_expired = counters_.notifications_expired.load();
  s.notifications_abandoned = counters_.notifications_abandoned.load();
  s.outbox_messages = notifications_.size();
  s.outbox_bytes = notifications_.bytes();
  const AuthStats auth = auth_->stats();
  s.auth_checks = auth.checks;
  s.auth_refused_busy = auth.refused_busy;
  s.auth_refused_by_address = auth.refused_by_address;
  s.auth_refused_oversize = auth.refused_oversize;
  s.auth_expired = auth.expired;
  return s;
}

void Engine::run() {
  ::pthread_setname_np(::pthread_self(), "pseud-engine");  // what top -H and gdb show
  mark_engine_thread();
  std::vector<Command> batch;
  guard_.engine_start();
  // Both sockets are polled through their notification fds rather than as
  // sockets: zmq_poll would ask each socket for its events before and after
  // every wait, a system call each, on every round trip. The router's fd also
  // lets other threads send on it (under the lock) while this one waits. That
  // fd only says "look again", and any call that processes the socket's
  // commands (a send included) may consume the signal of a message that then
  // goes unannounced: so after sending, the socket is read until it would
  // block before the engine sleeps (router_touched_), and callers that send
  // do the same check (wake_if_router_readable).
  const int router_fd = router_.get(zmq::sockopt::fd);
  const int monitor_fd = monitor_.get(zmq::sockopt::fd);
  router_touched_ = true;
  drain_monitor();
  while (!stopping_) {
    if (router_touched_) drain_router();
    const auto before_wait = Clock::now();
    const auto wake_at = router_unread_ ? before_wait : planned_wake(before_wait);
    const long timeout =
        wake_at == Clock::time_point::max()
            ? -1
            : static_cast<long>(std::chrono::ceil<std::chrono::milliseconds>(wake_at - before_wait).count());
    pollfd fds[3] = {{router_fd, POLLIN, 0}, {queue_.fd(), POLLIN, 0}, {monitor_fd, POLLIN, 0}};
    const int polled = guard_.engine_wait(wake_at, [&] { return ::poll(fds, 3, static_cast<int>(timeout)); });
    if (polled < 0) {
      if (errno == EINTR) continue;
      log(LogLevel::error, "pseud: engine poll failed: ", std::strerror(errno), "; stopping");
      break;
    }
    if (fds[1].revents & POLLIN) {
      queue_.take_all(batch);
      for (Command& command : batch) {
        try {
          process(command);
        } catch (const std::exception& e) {
          log(LogLevel::error, "pseud: a command failed on the engine thread: ", e.what());
        }
      }
      batch.clear();  // what the commands hold (a request's hold, a task's captures) goes now
    }
    if (stopping_) break;
    if (router_unread_ || router_touched_ || (fds[0].revents & POLLIN)) drain_router();
    if (fds[2].revents & POLLIN) drain_monitor();
    if (const auto retry = calls_.next_retry(); retry && Clock::now() >= *retry) retry_parked();
    if (const auto check = link_.next_check(); check && Clock::now() >= *check) reconnect_stalled_endpoints();
    const auto now = Clock::now();
    sweep_if_due(now);
    fire_deadlines();
    if (notifications_due(Clock::now())) flush_notifications();
  }
  shut_down();
  guard_.engine_finish();
}

void Engine::process(Command& command) {
  std::visit(
      [this](auto& c) {
        using T = std::decay_t<decltype(c)>;
        if constexpr (std::is_same_v<T, CallCommand>) {
          if (auto failed = start_call(c)) deliver(failed->on_reply, failed->function, nullptr, failed->error);
        } else if constexpr (std::is_same_v<T, ReplyCommand>) {
          send_handler_reply(c.routing_id, c.id, c.type, std::move(c.body), c.received);
          c.hold.reset();  // sent: the request is answered
        } else if constexpr (std::is_same_v<T, CancelCommand>) {
          complete(c.id, nullptr, failure<CancelledError>("the call was cancelled"));
        } else if constexpr (std::is_same_v<T, BindCommand>) {
          try {
            if (auto refusal = refuse_ipc_path(c.endpoint)) {
              c.done.set_exception(failure<UsageError>(*refusal));
              return;
            }
            router_touched_ = true;
            enable_ipv6_for(c.endpoint);
            router_.bind(c.endpoint);
            c.done.set_value(router_.get(zmq::sockopt::last_endpoint));
          } catch (const zmq::error_t& e) {
            c.done.set_exception(failure<Error>("cannot bind " + c.endpoint + ": " + e.what()));
          }
        } else if constexpr (std::is_same_v<T, TaskCommand>) {
          c.run();
        } else if constexpr (std::is_same_v<T, ConnectCommand>) {
          try {
            router_touched_ = true;
            enable_ipv6_for(c.endpoint);
            connect_router(c.endpoint, false);
            link_.connecting();
            c.done.set_value();
          } catch (const zmq::error_t& e) {
            c.done.set_exception(failure<Error>("cannot connect to " + c.endpoint + ": " + e.what()));
          }
        } else if constexpr (std::is_same_v<T, StopCommand>) {
          stopping_ = true;
          linger_at_stop_ = c.linger;
        }
      },
      command);
}

std::optional<std::string> refuse_ipc_path(std::string_view endpoint) {
  // libzmq unlinks whatever is at an ipc path before binding it: a typo would
  // delete a user's file. Only a stale socket may be replaced.
  constexpr std::string_view scheme = "ipc://";
  if (!endpoint.starts_with(scheme)) return std::nullopt;
  const std::string path(endpoint.substr(scheme.size()));
  if (path.empty() || path == "*" || path.front() == '@') return std::nullopt;  // generated, or abstract
  struct stat status {};
  if (::lstat(path.c_str(), &status) != 0 || S_ISSOCK(status.st_mode)) return std::nullopt;
  return "cannot bind " + std::string(endpoint) + ": " + path +
         " exists and is not a socket (binding would delete it); choose another path or remove it yourself";
}

void Engine::enable_ipv6_for(std::string_view endpoint) {
  // Read by libzmq when a bind or connect starts, so it can be set per
  // endpoint: on for IPv6 literals, off otherwise so that host names keep
  // resolving to the IPv4 addresses servers usually bind.
  const bool ipv6 = endpoint.starts_with("tcp://") && endpoint.find('[') != std::string_view::npos;
  router_.set(zmq::sockopt::ipv6, ipv6 ? 1 : 0);
}

void Engine::sweep_if_due(Clock::time_point now) {
  if (!sweep_interval_ || now < next_sweep_) return;
  // Messages still waiting in the socket would show their senders alive: an
  // engine behind on its input must not declare peers gone for silence. It
  // waits for the backlog to clear, for one interval at most.
  router_touched_ = true;  // asking for events processes the socket's commands
  if (now < next_sweep_ + *sweep_interval_ && (router_.get(zmq::sockopt::events) & ZMQ_POLLIN)) return;
  next_sweep_ = now + *sweep_interval_;
  if (role_ == PeerRole::server && silence_limit_) close_silent_connections(now);
  try {
    heartbeat_->sweep(*this, now);
  } catch (const std::exception& e) {
    log(LogLevel::error, "pseud: the heartbeat backend's sweep threw: ", e.what());
  }
}

std::optional<Engine::Clock::time_point> Engine::next_wake() const {
  std::optional<Clock::time_point> next = calls_.next_deadline();
  if (const auto retry = calls_.next_retry(); retry && (!next || *retry < *next)) next = retry;
  if (const auto check = link_.next_check(); check && (!next || *check < *next)) next = check;
  if (sweep_interval_ && (!next || next_sweep_ < *next)) next = next_sweep_;
  if (notification_retry_.load() || notifications_put_.load(std::memory_order_relaxed)) return Clock::now();
  if (next_notification_try_ != Clock::time_point::max() && (!next || next_notification_try_ < *next)) {
    next = next_notification_try_;
  }
  return next;
}

Engine::Clock::time_point Engine::planned_wake(Clock::time_point now) const {
  if (const auto next = next_wake()) return std::max(*next, now);
  // Idle, the engine still plans to wake one call timeout from now. The next
  // call, likely with the same timeout, then has its deadline after this wake
  // and need not interrupt the sleep to shorten it: that interruption cost a
  // thread wake-up per call.
  if (last_call_timeout_) return now + *last_call_timeout_;
  return Clock::time_point::max();
}

void Engine::fire_deadlines() {
  const auto now = Clock::now();
  while (const auto due = calls_.next_expired(now)) {
    const PendingCall& call = *calls_.find(*due);
    std::string why = "call to '" + call.function + "' on " + in_quotes(call.destination) + " got no reply ";
    if (call.by_deadline) {
      const auto allowed = std::chrono::duration_cast<std::chrono::milliseconds>(call.deadline - call.started);
      why += "by its deadline (" + std::to_string(allowed.count()) + " ms after the call was made)";
    } else {
      why += "within " + std::to_string(call.timeout.count()) + " ms";
    }
    if (call.parked_body) {
      why += " (never sent: the peer did not connect in time";
      if (role_ == PeerRole::client && call.routing_id == server_name_ && !link_.failure().empty()) {
        why += "; " + link_.failure();
      }
      why += ")";
    }
    complete(*due, nullptr, failure<TimeoutError>(why));
  }
}

void Engine::shut_down() {
  // Accepted and not answered: running or queued on a worker, an open reply
  // channel, a reply not sent yet. What a graceful stop could not wait for.
  if (const std::size_t unanswered = in_flight_->count(); unanswered > 0) {
    counters_.abandoned_at_stop.fetch_add(unanswered, std::memory_order_relaxed);
    log(LogLevel::warning, "pseud: stopped with ", unanswered,
        " accepted request(s) unanswered; their callers get no reply (a longer grace in stop(grace) waits for them)");
  }
  abandon_notifications();
  defer_gate_->close();  // password checks still running deliver nothing from now on
  reply_sink_->close();  // nor do reply channels still open
  const auto stopped = failure<PeerStoppedError>("the peer was stopped before the reply arrived");
  while (const auto id = calls_.any()) complete(*id, nullptr, stopped);
  for (Command& command : queue_.close()) {
    if (auto* call = std::get_if<CallCommand>(&command)) {
      deliver(call->call.on_reply, call->call.function, nullptr,
              failure<PeerStoppedError>("call to '" + call->call.function + "': the peer is stopped"));
    } else if (auto* bind = std::get_if<BindCommand>(&command)) {
      bind->done.set_exception(failure<PeerStoppedError>("bind: the peer is stopped"));
    } else if (auto* connect = std::get_if<ConnectCommand>(&command)) {
      connect->done.set_exception(failure<PeerStoppedError>("connect: the peer is stopped"));
    }
  }
  pool_.close();
  decode_pool_.close();
  heartbeat_->stop();
  auth_->stop();
  zmq_socket_monitor(router_.handle(), nullptr, 0);
  monitor_.close();
  // A graceful stop leaves the replies it sent the rest of its grace to get out.
  router_.set(zmq::sockopt::linger, static_cast<int>(linger_at_stop_.count()));
  router_.close();
  engine_ended_.store(true);
  announce_notifications();
}

}  // namespace pseud::detail
