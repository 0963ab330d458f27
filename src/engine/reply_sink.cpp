#include "engine/reply_sink.hpp"

#include "engine/engine.hpp"
#include "pseud/errors.hpp"
#include "wire/bodies.hpp"

namespace pseud::detail {

std::shared_ptr<ReplyState> ReplySink::open(std::shared_ptr<const Route> route, const Caller& caller, std::string id,
                                            std::chrono::steady_clock::time_point received, RequestHold hold,
                                            IncomingSpan&& span) {
  {
    std::lock_guard lock(mutex_);
    std::size_t& mine = open_[caller.routing_id];
    if (mine >= max_per_caller_ || total_ >= max_total_) {
      const bool own = mine >= max_per_caller_;
      if (mine == 0) open_.erase(caller.routing_id);
      throw OverloadedError(own ? "this caller has " + std::to_string(max_per_caller_) +
                                      " calls waiting for a deferred answer already; try again later"
                                : "too many calls wait for a deferred answer; try again later");
    }
    ++mine;
    ++total_;
  }
  return std::make_shared<ReplyState>(shared_from_this(), std::move(route), caller, std::move(id), received,
                                      std::move(hold), std::move(span));
}

void ReplySink::send(ReplyCommand&& reply) {
  std::lock_guard lock(mutex_);
  if (deliver_) deliver_(std::move(reply));
}

void ReplySink::close() {
  std::lock_guard lock(mutex_);
  deliver_ = nullptr;
}

std::size_t ReplySink::open_channels() const {
  std::lock_guard lock(mutex_);
  return total_;
}

void ReplySink::release(const std::string& routing_id) noexcept {
  std::lock_guard lock(mutex_);
  auto it = open_.find(routing_id);
  if (it == open_.end()) return;
  if (--it->second == 0) open_.erase(it);
  --total_;
}

WireBuffer nack_body() {
  WireBuffer body;
  wire::encode_error(body, "Nack", "", "");
  return body;
}

ReplyState::~ReplyState() {
  // Only a state nobody answered and nobody holds ends here unanswered (the
  // engine let go of it while a handler it ran was still unwinding).
  if (!replied_) {
    replied_ = true;
    const WireBuffer nack = nack_body();
    span_.answered(wire::MessageType::error, {nack.data(), nack.size()});
    sink_->send(
        ReplyCommand{caller_.routing_id, id_, wire::MessageType::error, nack_body(), received_, std::move(hold_)});
    sink_->release(caller_.routing_id);
  }
}

bool ReplyState::finish(wire::MessageType type, WireBuffer&& body, bool unless_reply_sent) {
  std::lock_guard lock(mutex_);
  if (replied_) {
    if (!unless_reply_sent) sink_->count_late();
    return false;
  }
  send_locked(type, std::move(body));
  return true;
}

bool ReplyState::fail(const std::exception_ptr& raised) {
  if (replied()) {
    sink_->count_late();
    return false;
  }
  WireBuffer body;
  sink_->errors_->encode(*route_, caller_, raised, body);  // outside the lock: it may call the user's hook
  return finish(wire::MessageType::error, std::move(body), false);
}

void ReplyState::owner_dropped() {
  std::lock_guard lock(mutex_);
  if (replied_) return;
  if (handler_running_) {
    dropped_ = true;  // the handler's outcome decides: its exception, or a nack
    return;
  }
  send_locked(wire::MessageType::error, nack_body());
}

void ReplyState::handler_returned(WireBuffer* error) {
  std::lock_guard lock(mutex_);
  handler_running_ = false;
  if (replied_) return;
  if (error) return send_locked(wire::MessageType::error, std::move(*error));
  if (dropped_) send_locked(wire::MessageType::error, nack_body());
}

bool ReplyState::replied() const {
  std::lock_guard lock(mutex_);
  return replied_;
}

void ReplyState::send_locked(wire::MessageType type, WireBuffer&& body) {
  replied_ = true;
  span_.answered(type, {body.data(), body.size()});
  sink_->release(caller_.routing_id);
  sink_->send(ReplyCommand{caller_.routing_id, id_, type, std::move(body), received_, std::move(hold_)});
}

}  // namespace pseud::detail

namespace pseud {

ReplyChannel::ReplyChannel(std::shared_ptr<detail::ReplyState> state) noexcept : state_(std::move(state)) {}

ReplyChannel& ReplyChannel::operator=(ReplyChannel&& other) noexcept {
  if (this != &other) {
    if (state_) state_->owner_dropped();
    state_ = std::move(other.state_);
  }
  return *this;
}

ReplyChannel::~ReplyChannel() {
  if (state_) state_->owner_dropped();
}

bool ReplyChannel::answer_ok(detail::WireBuffer&& body, bool unless_reply_sent) {
  if (!state_) throw UsageError("ReplyChannel: this channel was moved from");
  return state_->finish(wire::MessageType::ok, std::move(body), unless_reply_sent);
}

bool ReplyChannel::ack(bool unless_reply_sent) {
  detail::WireBuffer body;
  msgpack::packer<detail::WireBuffer>(body).pack_nil();
  return answer_ok(std::move(body), unless_reply_sent);
}

bool ReplyChannel::nack(bool unless_reply_sent) {
  if (!state_) throw UsageError("ReplyChannel: this channel was moved from");
  return state_->finish(wire::MessageType::error, detail::nack_body(), unless_reply_sent);
}

bool ReplyChannel::error(std::string_view name, std::string_view message, std::string_view traceback) {
  if (!state_) throw UsageError("ReplyChannel: this channel was moved from");
  if (name.empty()) throw UsageError("ReplyChannel::error: the error needs a class name");
  detail::WireBuffer body;
  wire::encode_error(body, name, message, traceback);
  return state_->finish(wire::MessageType::error, std::move(body), false);
}

bool ReplyChannel::fail(std::exception_ptr error) {
  if (!state_) throw UsageError("ReplyChannel: this channel was moved from");
  if (!error) throw UsageError("ReplyChannel::fail: the exception_ptr is empty");
  return state_->fail(error);
}

bool ReplyChannel::replied() const noexcept { return state_ && state_->replied(); }

const Caller& ReplyChannel::caller() const noexcept {
  static const Caller nobody{};
  return state_ ? state_->caller() : nobody;
}

}  // namespace pseud
