// Layer 4 (engine): what the engine does for an authentication backend.

#include "engine/engine.hpp"
#include "engine/engine_util.hpp"

namespace pseud::detail {

void Engine::send_unauthorized(std::string_view routing_id, std::string_view id, std::string_view text) {
  if (send_raw(routing_id, id, wire::MessageType::unauthorized, text) != 0) {
    log(LogLevel::debug, "pseud: could not send UNAUTHORIZED to '", printable(routing_id), "'");
  }
}

void Engine::send_authenticated(std::string_view routing_id, std::string_view id, std::string_view text) {
  if (send_raw(routing_id, id, wire::MessageType::authenticated, text) != 0) {
    log(LogLevel::debug, "pseud: could not send AUTHENTICATED to '", printable(routing_id), "'");
  }
}

void Engine::bind_user(std::string_view user, std::string_view routing_id) {
  peers_.route_user(user, routing_id);
  notification_retry_.store(true);  // notifications may wait for this user
}

void Engine::send_hello(std::string_view routing_id, std::string_view id, std::string_view login,
                        std::string_view password) {
  pseud::detail::WireBuffer body;
  wire::encode_hello(body, login, password);
  zmq::message_t message = to_message(std::move(body));
  if (send_message(routing_id, id, wire::MessageType::hello, message) != 0) {
    log(LogLevel::info, "pseud: could not send HELLO to '", printable(routing_id), "'");
  }
}

bool Engine::resend_work(std::string_view id) {
  const auto key = MessageId::from(id);
  PendingCall* call = key ? calls_.find(*key) : nullptr;
  if (!call || !call->saved_body) return false;
  zmq::message_t again;
  again.copy(*call->saved_body);  // shares the bytes
  return send_message(call->routing_id, id, wire::MessageType::work, again) == 0;
}

void Engine::fail_call(std::string_view id, std::string_view message) {
  if (const auto key = MessageId::from(id)) {
    complete(*key, nullptr, failure<UnauthorizedError>(std::string(message)));
  }
}

void DeferGate::deliver(std::function<void()> done) {
  std::lock_guard lock(mutex_);
  if (queue_) queue_->push(TaskCommand{std::move(done)});
}

void DeferGate::close() noexcept {
  std::lock_guard lock(mutex_);
  queue_ = nullptr;
}

bool Engine::defer(std::function<void()> work, std::function<void()> done) {
  // The process's password-check threads, not pool_: slow checks must not
  // take the threads of the blocking handlers of users already logged in.
  if (!check_pool_) check_pool_ = security::shared_check_pool();
  return check_pool_->try_post([gate = defer_gate_, work = std::move(work), done = std::move(done)]() mutable {
    work();
    gate->deliver(std::move(done));
  });
}

}  // namespace pseud::detail
