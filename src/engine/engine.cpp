#include "engine/engine.hpp"

#include <zmq.h>

#include <cstdlib>
#include <cstring>

#include "log.hpp"

namespace pseud::detail {

namespace {

using namespace std::chrono_literals;

// While calls wait for a route that monitor events cannot announce (inproc),
// retry them this often.
constexpr auto parked_retry_interval = 2ms;

// libzmq does not reconnect after some disconnects (a frame over
// ZMQ_MAXMSGSIZE is a protocol error to it); an endpoint that shows no sign of
// reconnecting this long after a disconnect is reconnected by hand.
constexpr auto reconnect_check_delay = 500ms;

std::atomic<std::uint64_t> monitor_counter{0};

zmq::message_t to_message(msgpack::sbuffer&& buffer) {
  const std::size_t size = buffer.size();
  char* data = buffer.release();
  return zmq::message_t(data, size, [](void* bytes, void*) { std::free(bytes); }, nullptr);
}

std::string describe(std::string_view destination) { return "'" + std::string(destination) + "'"; }

// Runs a call's completion; a throwing user callback is logged, never propagated.
void deliver(const ReplyHandler& on_reply, std::string_view function, const msgpack::object* value,
             std::exception_ptr error) noexcept {
  try {
    on_reply(value, std::move(error));
  } catch (const std::exception& e) {
    log(LogLevel::error, "pseud: the completion of '", function, "' threw: ", e.what());
  } catch (...) {
    log(LogLevel::error, "pseud: the completion of '", function, "' threw a non-std exception");
  }
}

template <class E>
std::exception_ptr failure(std::string message) {
  return std::make_exception_ptr(E(std::move(message)));
}

}  // namespace

void CancelRequest::operator()() const noexcept { engine->cancel(id); }

Engine::Engine(Role role, std::string routing_id, std::string server_name, const PeerOptions& options,
               const Registry& registry)
    : role_(role),
      routing_id_(std::move(routing_id)),
      server_name_(std::move(server_name)),
      options_(options),
      registry_(registry),
      context_(options.context),
      router_(*context_, zmq::socket_type::router),
      pool_(options.worker_threads) {
  static const bool random_ready = (MessageId::initialise_random(), true);
  (void)random_ready;
  router_.set(zmq::sockopt::linger, 0);
  router_.set(zmq::sockopt::router_mandatory, 1);
  router_.set(zmq::sockopt::router_handover, 1);
  router_.set(zmq::sockopt::maxmsgsize, static_cast<std::int64_t>(options_.max_message_size));
  if (!routing_id_.empty()) router_.set(zmq::sockopt::routing_id, routing_id_);
  if (role_ == Role::client) {
    router_.set(zmq::sockopt::probe_router, 1);
    monitor_endpoint_ = "inproc://pseud.monitor." + std::to_string(monitor_counter.fetch_add(1));
    const int events = ZMQ_EVENT_CONNECTED | ZMQ_EVENT_CONNECT_DELAYED | ZMQ_EVENT_HANDSHAKE_SUCCEEDED |
                       ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_CONNECT_RETRIED |
                       ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                       ZMQ_EVENT_HANDSHAKE_FAILED_AUTH;
    if (zmq_socket_monitor(router_.handle(), monitor_endpoint_.c_str(), events) != 0) throw zmq::error_t();
    monitor_ = zmq::socket_t(*context_, zmq::socket_type::pair);
    monitor_.set(zmq::sockopt::linger, 0);
    monitor_.connect(monitor_endpoint_);
  }
  if (options_.configure_socket) options_.configure_socket(router_);
  thread_ = std::thread([this] { run(); });
  thread_id_ = thread_.get_id();
}

Engine::~Engine() { stop(); }

void Engine::stop() {
  if (!stop_requested_.exchange(true)) queue_.push(StopCommand{});
  if (on_engine_thread()) return;  // stop() from a handler: the destructor joins
  std::call_once(joined_, [this] {
    if (thread_.joinable()) thread_.join();
  });
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

void Engine::submit(OutgoingCall&& call) {
  if (call.body.size() > options_.max_message_size) {
    const auto size = call.body.size();
    deliver(call.on_reply, call.function, nullptr,
            failure<MessageTooLargeError>("call to '" + call.function + "' is " + std::to_string(size) +
                                          " bytes, over the limit of " + std::to_string(options_.max_message_size) +
                                          " bytes (PeerOptions::max_message_size); nothing was sent"));
    return;
  }
  Command command = CallCommand{MessageId::generate(), std::move(call)};
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
  s.oversize_messages = counters_.oversize_messages.load();
  s.unroutable_replies = counters_.unroutable_replies.load();
  s.pending_calls = counters_.pending_calls.load();
  return s;
}

void Engine::run() {
  std::vector<Command> batch;
  while (!stopping_) {
    zmq_pollitem_t items[3] = {{router_.handle(), 0, ZMQ_POLLIN, 0},
                               {nullptr, queue_.fd(), ZMQ_POLLIN, 0},
                               {monitor_.handle(), 0, ZMQ_POLLIN, 0}};
    const int count = monitor_ ? 3 : 2;
    if (zmq_poll(items, count, next_timeout_ms()) < 0) {
      if (zmq_errno() == EINTR) continue;
      log(LogLevel::error, "pseud: engine poll failed: ", zmq_strerror(zmq_errno()), "; stopping");
      break;
    }
    if (items[1].revents & ZMQ_POLLIN) {
      queue_.take_all(batch);
      for (Command& command : batch) {
        try {
          process(command);
        } catch (const std::exception& e) {
          log(LogLevel::error, "pseud: a command failed on the engine thread: ", e.what());
        }
      }
    }
    if (items[0].revents & ZMQ_POLLIN) drain_router();
    if (count == 3 && (items[2].revents & ZMQ_POLLIN)) drain_monitor();
    if (!parked_.empty() && Clock::now() >= next_retry_) retry_parked();
    if (!reconnect_checks_.empty()) reconnect_stalled_endpoints();
    fire_deadlines();
  }
  shut_down();
}

void Engine::process(Command& command) {
  std::visit(
      [this](auto& c) {
        using T = std::decay_t<decltype(c)>;
        if constexpr (std::is_same_v<T, CallCommand>) {
          start_call(c);
        } else if constexpr (std::is_same_v<T, ReplyCommand>) {
          send_reply(c.routing_id, c.id, c.type, std::move(c.body));
        } else if constexpr (std::is_same_v<T, CancelCommand>) {
          complete(c.id, nullptr, std::make_exception_ptr(CancelledError("the call was cancelled")));
        } else if constexpr (std::is_same_v<T, BindCommand>) {
          try {
            router_.bind(c.endpoint);
            c.done.set_value(router_.get(zmq::sockopt::last_endpoint));
          } catch (const zmq::error_t& e) {
            c.done.set_exception(std::make_exception_ptr(Error("cannot bind " + c.endpoint + ": " + e.what())));
          }
        } else if constexpr (std::is_same_v<T, ConnectCommand>) {
          try {
            router_.connect(c.endpoint);
            route_failure_.clear();
            c.done.set_value();
          } catch (const zmq::error_t& e) {
            c.done.set_exception(std::make_exception_ptr(Error("cannot connect to " + c.endpoint + ": " + e.what())));
          }
        } else {
          stopping_ = true;
        }
      },
      command);
}

std::string Engine::resolve(const std::string& destination) const {
  if (auto it = user_routes_.find(destination); it != user_routes_.end()) return it->second;
  return destination;
}

bool Engine::waits_for_route(const PendingCall& call) const {
  if (call.wait_for_ready) return true;
  // A client's first connection to its server is still being made.
  return role_ == Role::client && call.routing_id == server_name_ && connected_endpoints_.empty() &&
         route_failure_.empty();
}

std::string Engine::unreachable_text(const PendingCall& call) const {
  std::string text = "call to '" + call.function + "': peer " + describe(call.destination) + " is not connected";
  if (role_ == Role::client && call.routing_id == server_name_) {
    text += route_failure_.empty() ? " (did you call connect() with the server's endpoint?)" : " (" + route_failure_ + ")";
  } else {
    text += " (it never connected, or has disconnected)";
  }
  return text;
}

void Engine::start_call(CallCommand& command) {
  OutgoingCall& call = command.call;
  if (call.options.stop.stop_requested()) {
    deliver(call.on_reply, call.function, nullptr, failure<CancelledError>("the call was cancelled before it was sent"));
    return;
  }
  const auto now = Clock::now();
  PendingCall pending;
  pending.destination = std::move(call.destination);
  pending.routing_id = resolve(pending.destination);
  pending.function = std::move(call.function);
  pending.timeout = call.options.timeout.value_or(options_.default_timeout);
  pending.deadline = call.options.deadline.value_or(now + pending.timeout);
  pending.on_reply = std::move(call.on_reply);
  pending.wait_for_ready = call.options.wait_for_ready;

  zmq::message_t body = to_message(std::move(call.body));
  const int error = send_message(pending.routing_id, command.id.view(), wire::MessageType::work, body);
  if (error == EHOSTUNREACH && waits_for_route(pending)) {
    pending.parked_body.emplace(std::move(body));
    parked_.push_back(command.id);
    next_retry_ = now + parked_retry_interval;
  } else if (error != 0) {
    const std::string why = error == EHOSTUNREACH
                                ? unreachable_text(pending)
                                : "call to '" + pending.function + "': cannot send to " +
                                      describe(pending.destination) + ": " + zmq_strerror(error);
    deliver(pending.on_reply, pending.function, nullptr, failure<PeerUnreachableError>(why));
    return;
  } else {
    counters_.calls_sent.fetch_add(1, std::memory_order_relaxed);
  }
  if (call.options.stop.stop_possible()) {
    pending.cancel = std::make_unique<std::stop_callback<CancelRequest>>(call.options.stop,
                                                                         CancelRequest{this, command.id});
  }
  deadlines_.push(Deadline{pending.deadline, command.id});
  pending_.emplace(command.id, std::move(pending));
  counters_.pending_calls.store(pending_.size(), std::memory_order_relaxed);
}

bool Engine::try_send_parked(const MessageId& id, PendingCall& call) {
  const int error = send_message(call.routing_id, id.view(), wire::MessageType::work, *call.parked_body);
  if (error == 0) {
    call.parked_body.reset();
    counters_.calls_sent.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  if (error == EHOSTUNREACH && waits_for_route(call)) return false;
  const std::string why = error == EHOSTUNREACH ? unreachable_text(call)
                                                : "call to '" + call.function + "': " + zmq_strerror(error);
  complete(id, nullptr, std::make_exception_ptr(PeerUnreachableError(why)));
  return true;
}

void Engine::retry_parked() {
  std::vector<MessageId> still_parked;
  for (const MessageId& id : std::exchange(parked_, {})) {
    auto it = pending_.find(id);
    if (it == pending_.end() || !it->second.parked_body) continue;
    if (!try_send_parked(id, it->second)) still_parked.push_back(id);
  }
  parked_ = std::move(still_parked);
  next_retry_ = Clock::now() + parked_retry_interval;
}

long Engine::next_timeout_ms() const {
  std::optional<Clock::time_point> next;
  if (!deadlines_.empty()) next = deadlines_.top().at;
  if (!parked_.empty() && (!next || next_retry_ < *next)) next = next_retry_;
  for (const auto& [endpoint, at] : reconnect_checks_) {
    if (!next || at < *next) next = at;
  }
  if (!next) return -1;
  const auto wait = std::chrono::ceil<std::chrono::milliseconds>(*next - Clock::now()).count();
  return wait < 0 ? 0 : static_cast<long>(wait);
}

void Engine::fire_deadlines() {
  const auto now = Clock::now();
  while (!deadlines_.empty() && deadlines_.top().at <= now) {
    const Deadline due = deadlines_.top();
    deadlines_.pop();
    auto it = pending_.find(due.id);
    if (it == pending_.end() || it->second.deadline != due.at) continue;
    const PendingCall& call = it->second;
    std::string why = "call to '" + call.function + "' on " + describe(call.destination) + " got no reply within " +
                      std::to_string(call.timeout.count()) + " ms";
    if (call.parked_body) why += " (never sent: the peer did not connect in time)";
    complete(due.id, nullptr, std::make_exception_ptr(TimeoutError(why)));
  }
}

void Engine::complete(const MessageId& id, const msgpack::object* value, std::exception_ptr error) {
  auto it = pending_.find(id);
  if (it == pending_.end()) return;
  PendingCall call = std::move(it->second);
  pending_.erase(it);
  counters_.pending_calls.store(pending_.size(), std::memory_order_relaxed);
  call.cancel.reset();
  deliver(call.on_reply, call.function, value, std::move(error));
}

void Engine::fail_calls_to(std::string_view routing_id, bool only_parked, const std::string& why) {
  std::vector<MessageId> doomed;
  for (const auto& [id, call] : pending_) {
    if (call.routing_id != routing_id) continue;
    if (only_parked && (!call.parked_body || call.wait_for_ready)) continue;
    doomed.push_back(id);
  }
  for (const MessageId& id : doomed) {
    complete(id, nullptr, std::make_exception_ptr(PeerUnreachableError("call to '" + pending_.at(id).function + "': " + why)));
  }
}

void Engine::drain_monitor() {
  while (true) {
    zmq::message_t event;
    zmq::message_t address;
    if (!monitor_.recv(event, zmq::recv_flags::dontwait)) return;
    if (!event.more() || !monitor_.recv(address) || event.size() < 6) continue;
    std::uint16_t kind;
    std::memcpy(&kind, event.data(), sizeof kind);
    std::string endpoint = address.to_string();
    switch (kind) {
      case ZMQ_EVENT_CONNECTED:
      case ZMQ_EVENT_CONNECT_DELAYED:
        reconnect_checks_.erase(endpoint);  // libzmq is (re)connecting by itself
        break;
      case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
        reconnect_checks_.erase(endpoint);
        connected_endpoints_.insert(std::move(endpoint));
        route_failure_.clear();
        retry_parked();
        break;
      case ZMQ_EVENT_DISCONNECTED:
        reconnect_checks_[endpoint] = Clock::now() + reconnect_check_delay;
        if (connected_endpoints_.erase(endpoint) && connected_endpoints_.empty()) {
          route_failure_ = "the connection to server '" + server_name_ + "' at " + endpoint + " was lost";
          log(LogLevel::info, "pseud: ", route_failure_);
          fail_calls_to(server_name_, false, route_failure_ + " before the reply arrived (the call may or may not have run)");
        }
        break;
      default:  // connect retried, or handshake failed
        if (kind == ZMQ_EVENT_CONNECT_RETRIED) reconnect_checks_.erase(endpoint);
        if (connected_endpoints_.empty()) {
          route_failure_ = failure_reason(endpoint, kind);
          fail_calls_to(server_name_, true, route_failure_);
        }
        break;
    }
  }
}

void Engine::reconnect_stalled_endpoints() {
  const auto now = Clock::now();
  for (auto it = reconnect_checks_.begin(); it != reconnect_checks_.end();) {
    if (it->second > now) {
      ++it;
      continue;
    }
    log(LogLevel::info, "pseud: reconnecting to ", it->first, " (libzmq gave up on it)");
    try {
      router_.disconnect(it->first);
    } catch (const zmq::error_t&) {
      // Already gone from libzmq's side: connecting again is all that is needed.
    }
    try {
      router_.connect(it->first);
    } catch (const zmq::error_t& e) {
      log(LogLevel::error, "pseud: cannot reconnect to ", it->first, ": ", e.what());
    }
    it = reconnect_checks_.erase(it);
  }
}

std::string Engine::failure_reason(const std::string& endpoint, int event) const {
  if (event == ZMQ_EVENT_CONNECT_RETRIED) {
    return "server '" + server_name_ + "' is not reachable at " + endpoint +
           " (connection refused: is it running and bound there?)";
  }
  return "the handshake with server '" + server_name_ + "' at " + endpoint +
         " failed (do both sides use the same security settings?)";
}

int Engine::send_message(std::string_view routing_id, std::string_view id, wire::MessageType type,
                         zmq::message_t& body) {
  void* socket = router_.handle();
  if (zmq_send(socket, routing_id.data(), routing_id.size(), ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) return zmq_errno();
  // Once the routing frame is accepted the rest of the message cannot fail.
  const std::string_view type_frame = wire::type_frame(type);
  zmq_send(socket, "", 0, ZMQ_SNDMORE);
  zmq_send(socket, wire::protocol_version.data(), wire::protocol_version.size(), ZMQ_SNDMORE);
  zmq_send(socket, id.data(), id.size(), ZMQ_SNDMORE);
  zmq_send(socket, type_frame.data(), type_frame.size(), ZMQ_SNDMORE);
  zmq_msg_send(body.handle(), socket, 0);
  return 0;
}

void Engine::send_reply(std::string_view routing_id, std::string_view id, wire::MessageType type,
                        msgpack::sbuffer&& body) {
  if (body.size() > options_.max_message_size) {
    const std::string why = "the reply is " + std::to_string(body.size()) + " bytes, over the limit of " +
                            std::to_string(options_.max_message_size) + " bytes";
    log(LogLevel::warning, "pseud: ", why, "; sending an ERROR instead");
    send_error(routing_id, id, "ValueError", why);
    return;
  }
  zmq::message_t message = to_message(std::move(body));
  const int error = send_message(routing_id, id, type, message);
  if (error == 0) {
    counters_.requests_handled.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  counters_.unroutable_replies.fetch_add(1, std::memory_order_relaxed);
  log(LogLevel::info, "pseud: dropped a ", wire::message_type_name(type), " reply to ", describe(routing_id), ": ",
      zmq_strerror(error));
}

void Engine::send_error(std::string_view routing_id, std::string_view id, std::string_view name,
                        std::string_view message) {
  msgpack::sbuffer body;
  wire::encode_error(body, name, message, "");
  send_reply(routing_id, id, wire::MessageType::error, std::move(body));
}

void Engine::shut_down() {
  const auto stopped = std::make_exception_ptr(PeerStoppedError("the peer was stopped before the reply arrived"));
  while (!pending_.empty()) complete(pending_.begin()->first, nullptr, stopped);
  for (Command& command : queue_.close()) {
    if (auto* call = std::get_if<CallCommand>(&command)) {
      deliver(call->call.on_reply, call->call.function, nullptr,
              failure<PeerStoppedError>("call to '" + call->call.function + "': the peer is stopped"));
    } else if (auto* bind = std::get_if<BindCommand>(&command)) {
      bind->done.set_exception(std::make_exception_ptr(PeerStoppedError("bind: the peer is stopped")));
    } else if (auto* connect = std::get_if<ConnectCommand>(&command)) {
      connect->done.set_exception(std::make_exception_ptr(PeerStoppedError("connect: the peer is stopped")));
    }
  }
  pool_.close();
  if (monitor_) {
    zmq_socket_monitor(router_.handle(), nullptr, 0);
    monitor_.close();
  }
  router_.close();
}

}  // namespace pseud::detail
