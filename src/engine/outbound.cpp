// Layer 4 (engine): what the engine sends: calls, their completion, replies.

#include <algorithm>
#include <zmq.h>

#include "engine/engine.hpp"
#include "engine/engine_util.hpp"

namespace pseud::detail {

bool Engine::routes_only_to_users() const noexcept {
  // With authentication a routing id proves nothing (anyone may present any
  // id, and take one over once its owner has left): a server sends work only
  // to the connection an authenticated user speaks through, unless its
  // backend says a routing id is all there is.
  return role_ == PeerRole::server && !auth_->allows_routing_id_takeover();
}

std::string Engine::resolve(const std::string& destination) const {
  if (const std::string* route = peers_.route_of(destination)) return *route;
  return routes_only_to_users() ? std::string() : destination;
}

void Engine::address(PendingCall& call) const {
  call.routing_id = resolve(call.destination);
  if (const PeerTable::Peer* peer = peers_.find(call.routing_id)) {
    call.user = peer->state.user_id;
    // A server's connections are the ones it accepted: a reply must come
    // back on the one the WORK went to. A client's link to its server keeps
    // its queue across reconnections (libzmq's connecting side does), so
    // its calls are answered over whichever connection is up.
    call.fd = role_ == PeerRole::server ? peer->fd : -1;
  } else {
    call.user.clear();
    call.fd = -1;
  }
}

bool Engine::should_park(int send_error, const PendingCall& call) const {
  // EAGAIN: the connection's queue is full (queue_limit); room comes back as the peer reads.
  return send_error == EAGAIN || (send_error == EHOSTUNREACH && waits_for_route(call));
}

bool Engine::waits_for_route(const PendingCall& call) const {
  if (call.wait_for_ready) return true;
  // A client's connection to its server is still being made; libzmq may also
  // report the handshake a moment before the route is usable.
  // A server not (yet) reachable may still come, unless the peer fails fast;
  // a refused handshake is final.
  return role_ == PeerRole::client && call.routing_id == server_name_ &&
         link_.may_still_come();
}

std::exception_ptr Engine::make_failure(Failure kind, std::string message) {
  switch (kind) {
    case Failure::handshake: return failure<HandshakeError>(std::move(message));
    case Failure::gone: return failure<PeerGoneError>(std::move(message));
    case Failure::unreachable: break;
  }
  return failure<PeerUnreachableError>(std::move(message));
}

std::exception_ptr Engine::unreachable_error(const PendingCall& call) const {
  const bool own_server = role_ == PeerRole::client && call.routing_id == server_name_;
  return make_failure(own_server && link_.handshake_failed() ? Failure::handshake : Failure::unreachable,
                      unreachable_text(call));
}

std::string Engine::unreachable_text(const PendingCall& call) const {
  std::string text = "call to '" + call.function + "': peer " + in_quotes(call.destination) + " is not connected";
  if (call.routing_id.empty()) {
    text = "call to '" + call.function + "': no authenticated user " + in_quotes(call.destination) +
           " is connected (with authentication, send_to() takes the User-Id of a connected peer, never a raw "
           "routing id)";
  } else if (role_ == PeerRole::client && call.routing_id == server_name_) {
    text += link_.failure().empty() ? " (did you call connect() with the server's endpoint?)"
                                    : " (" + link_.failure() + ")";
  } else {
    text += " (it never connected, or has disconnected)";
  }
  return text;
}

bool Engine::try_direct_call(CallCommand& command) {
  std::optional<Undelivered> failed;
  if (on_engine_thread()) {
    // From a handler or a completion (see StateGuard::engine_reenter).
    const auto relock = guard_.engine_reenter();
    if (stopping_) return false;
    failed = start_call(command);
  } else {
    const auto lock = guard_.try_enter();
    // Behind queued commands the call must wait its turn: calls from one
    // thread leave in the order they were made.
    if (!lock.owns_lock() || stopping_ || !queue_.empty()) return false;
    failed = start_call(command);
    wake_if_router_readable();
    // A deadline (or parked-call retry) sooner than the engine's poll timeout.
    if (const auto next = next_wake(); next && *next < guard_.planned_wake()) queue_.wake();
  }
  if (failed) {
    // Completions run on the engine thread, later, as they would had the call
    // been queued (and a completion that calls again cannot recurse).
    auto run = [failed = std::move(*failed)] { deliver(failed.on_reply, failed.function, nullptr, failed.error); };
    if (!queue_.push(TaskCommand{run})) run();
  }
  return true;
}

bool Engine::try_direct_reply(ReplyCommand& reply) {
  const auto lock = guard_.try_enter();
  if (!lock.owns_lock() || stopping_) return false;
  send_handler_reply(reply.routing_id, reply.id, reply.type, std::move(reply.body), reply.received);
  wake_if_router_readable();
  return true;
}

void Engine::deliver_reply(ReplyCommand&& reply) {
  if (on_engine_thread() && guard_.engine_holds()) {
    // From a handler: the engine thread holds the lock already.
    if (stopping_) return;
    send_handler_reply(reply.routing_id, reply.id, reply.type, std::move(reply.body), reply.received);
    return;
  }
  // Another thread, or a completion running with the lock released (a
  // coroutine handler that goes on after a co_call): the caller holds the
  // reply sink's lock, and the engine takes the two the other way round, so
  // only try the engine's.
  if (!try_direct_reply(reply)) queue_.push(std::move(reply));
}

void Engine::wake_if_router_readable() {
  // Sending may have consumed the notification the engine thread waits for.
  if (router_.get(zmq::sockopt::events) & ZMQ_POLLIN) queue_.wake();
}

std::optional<Engine::Undelivered> Engine::start_call(CallCommand& command) {
  OutgoingCall& call = command.call;
  if (call.options.stop.stop_requested()) {
    return Undelivered{std::move(call.on_reply), std::move(call.function),
                       failure<CancelledError>("the call was cancelled before it was sent")};
  }
  const auto now = Clock::now();
  PendingCall pending;
  pending.destination = std::move(call.destination);
  address(pending);
  pending.function = std::move(call.function);
  pending.timeout = call.options.timeout.value_or(options_.default_timeout);
  last_call_timeout_ = pending.timeout;
  pending.deadline = call.options.deadline.value_or(now + pending.timeout);
  pending.started = now;
  pending.by_deadline = call.options.deadline.has_value();
  pending.on_reply = std::move(call.on_reply);
  pending.wait_for_ready = call.options.wait_for_ready;
  if (pending.deadline <= now) {
    auto expired = failure<TimeoutError>("call to '" + pending.function + "' on " + in_quotes(pending.destination) +
                                         ": its deadline had passed before it could be sent; nothing was sent");
    return Undelivered{std::move(pending.on_reply), std::move(pending.function), std::move(expired)};
  }

  if (peers_.recently_gone(pending.routing_id, now) && !waits_for_route(pending)) {
    auto gone = unreachable_error(pending);
    return Undelivered{std::move(pending.on_reply), std::move(pending.function), std::move(gone)};
  }
  zmq::message_t body = to_message(std::move(call.body));
  if (auth_->keeps_work_for_retry()) {
    pending.saved_body.emplace();
    pending.saved_body->copy(body);  // shares the bytes: zmq_msg_copy counts references
  }
  // Behind parked calls a new one parks too, so calls still leave in order.
  if (calls_.has_parked()) retry_parked();
  const int error = awaits_handshake(pending.routing_id) ? EHOSTUNREACH
                    : !calls_.has_parked()
                        ? send_message(pending.routing_id, command.id.view(), wire::MessageType::work, body)
                        : EAGAIN;
  if (should_park(error, pending)) {
    pending.parked_body.emplace(std::move(body));
    calls_.park(command.id, now);
  } else if (error != 0) {
    auto why = error == EHOSTUNREACH ? unreachable_error(pending)
                                     : failure<PeerUnreachableError>("call to '" + pending.function +
                                                                     "': cannot send to " +
                                                                     in_quotes(pending.destination) + ": " +
                                                                     zmq_strerror(error));
    return Undelivered{std::move(pending.on_reply), std::move(pending.function), std::move(why)};
  } else {
    counters_.calls_sent.fetch_add(1, std::memory_order_relaxed);
  }
  if (call.options.stop.stop_possible()) {
    pending.cancel = std::make_unique<std::stop_callback<CancelRequest>>(call.options.stop,
                                                                         CancelRequest{this, command.id});
  }
  calls_.add(command.id, std::move(pending));
  return std::nullopt;
}

bool Engine::awaits_handshake(std::string_view routing_id) const {
  // The alias of a client's connection (connect_router) routes before the
  // handshake, where libzmq would otherwise know no route: a call must not
  // wait in that pipe, unseen by the checks that end it when the handshake
  // fails. It waits parked, as without the alias, until the server joins.
  // (inproc has no handshake and reports no events: its pipe is the route.)
  return role_ == PeerRole::client && routing_id == server_name_ && !aliased_endpoint_.starts_with("inproc://") &&
         !peers_.find(server_name_);
}

bool Engine::try_send_parked(const MessageId& id, PendingCall& call) {
  if (call.routing_id.empty() || routes_only_to_users()) address(call);  // the user may have logged in since
  const int error = awaits_handshake(call.routing_id)
                        ? EHOSTUNREACH
                        : send_message(call.routing_id, id.view(), wire::MessageType::work, *call.parked_body);
  if (error == 0) {
    call.parked_body.reset();
    counters_.calls_sent.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  if (should_park(error, call)) return false;
  complete(id, nullptr,
           error == EHOSTUNREACH
               ? unreachable_error(call)
               : failure<PeerUnreachableError>("call to '" + call.function + "': " + zmq_strerror(error)));
  return true;
}

void Engine::retry_parked() {
  std::vector<MessageId> still_parked;
  std::vector<std::string> full_routes;  // found full in this pass: the rest of their calls stay parked
  for (const MessageId& id : calls_.take_parked()) {
    PendingCall* call = calls_.find(id);
    if (!call || !call->parked_body) continue;
    const std::string& route = call->routing_id;  // read only while the call stays pending
    if (std::find(full_routes.begin(), full_routes.end(), route) != full_routes.end() ||
        !try_send_parked(id, *call)) {
      still_parked.push_back(id);
      if (std::find(full_routes.begin(), full_routes.end(), route) == full_routes.end()) full_routes.push_back(route);
    }
  }
  // Calls parked meanwhile (by completions that called again) go after the older ones.
  calls_.unpark_failed(std::move(still_parked), Clock::now());
}

void Engine::complete(const MessageId& id, msgpack::object_handle* reply, std::exception_ptr error) {
  if (auto call = calls_.take(id)) deliver(call->on_reply, call->function, reply, std::move(error));
}

void Engine::complete_outside_lock(const MessageId& id, msgpack::object_handle* reply, std::exception_ptr error) {
  auto call = calls_.take(id);
  if (!call) return;
  guard_.engine_release_while([&] { deliver(call->on_reply, call->function, reply, std::move(error)); });
}

void Engine::fail_calls_to(std::string_view routing_id, bool only_parked, Failure kind, const std::string& why) {
  const auto doomed = calls_.select([&](const PendingCall& call) {
    if (call.routing_id != routing_id) return false;
    if (only_parked) return call.parked_body && !call.wait_for_ready;
    // A call never sent that may still wait for its peer keeps waiting.
    return !(call.parked_body && waits_for_route(call));
  });
  for (const MessageId& id : doomed) {
    // A completion run before may have cancelled or completed this one.
    if (const PendingCall* call = calls_.find(id)) {
      std::string text = "call to '" + call->function + "': " + why;
      Failure failure = kind;
      if (kind == Failure::gone) {
        // A parked call never left: say so, and let it count as undelivered (safe to send elsewhere).
        const bool sent = !call->parked_body.has_value();
        text += sent ? " before the reply arrived; the call may or may not have run" : "; the call was never sent";
        if (!sent) failure = Failure::unreachable;
      }
      complete(id, nullptr, make_failure(failure, std::move(text)));
    }
  }
}

int Engine::send_message(std::string_view routing_id, std::string_view id, wire::MessageType type,
                         zmq::message_t& body) {
  router_touched_ = true;  // sending processes the socket's commands (see run())
  if (const int error = outbox_.send(routing_id, id, type, body); error != 0) return error;
  if (sweep_interval_) {
    if (PeerTable::Peer* peer = peers_.find(routing_id)) peer->state.last_sent = Clock::now();
  }
  return 0;
}

int Engine::send_raw(std::string_view routing_id, std::string_view id, wire::MessageType type,
                     std::string_view body) {
  zmq::message_t message(body.data(), body.size());
  return send_message(routing_id, id, type, message);
}

void Engine::send_reply(std::string_view routing_id, std::string_view id, wire::MessageType type,
                        pseud::detail::WireBuffer&& body) {
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
  log(LogLevel::info, "pseud: dropped a ", wire::message_type_name(type), " reply to ", in_quotes(routing_id), ": ",
      zmq_strerror(error));
}

void Engine::send_handler_reply(std::string_view routing_id, std::string_view id, wire::MessageType type,
                                pseud::detail::WireBuffer&& body, Clock::time_point received) {
  if (options_.reply_deadline && Clock::now() - received > *options_.reply_deadline) {
    counters_.expired_replies.fetch_add(1, std::memory_order_relaxed);
    log(LogLevel::warning, "pseud: dropped a reply to '", printable(routing_id), "': its handler took longer than ",
        options_.reply_deadline->count(), " ms (PeerOptions::reply_deadline) and the caller has given up");
    return;
  }
  const wire::PythonChecks checks{options_.strict_map_keys, options_.strict_utf8, !options_.allow_python_ext};
  if (const std::string_view bytes{body.data(), body.size()}; type == wire::MessageType::ok && checks.any()) {
    if (const wire::PythonFinding finding = wire::find_python_hazard(bytes, checks)) {
      const std::string what = wire::describe_python_hazard(bytes, finding, false);
      log(LogLevel::warning, "pseud: not sent to '", printable(routing_id), "': ", what, "; replying TypeError. ",
          wire::python_hazard_remedy(finding.hazard));
      send_error(routing_id, id, "TypeError", what + "; the reply was not sent");
      return;
    }
  }
  send_reply(routing_id, id, type, std::move(body));
}

bool Engine::refuse_while_stopping(std::string_view rid, std::string_view id, std::string_view function) {
  if (!refusing_.load(std::memory_order_acquire)) return false;
  for (const std::string& answered : still_answered_) {
    if (answered == function) return false;
  }
  counters_.refused_stopping.fetch_add(1, std::memory_order_relaxed);
  const std::string what = function.empty() ? std::string("the request") : in_quotes(printable(function));
  send_error(rid, id, unavailable_error_name,
             "the peer is stopping: " + what + " was not run; safe to retry on another instance");
  return true;
}

void Engine::send_error(std::string_view routing_id, std::string_view id, std::string_view name,
                        std::string_view message) {
  pseud::detail::WireBuffer body;
  wire::encode_error(body, name, message, "");
  send_reply(routing_id, id, wire::MessageType::error, std::move(body));
}

}  // namespace pseud::detail
