#include "observe/incoming_span.hpp"

#include <utility>

namespace pseud::detail {

IncomingSpan::IncomingSpan(std::shared_ptr<CallObserver> observer, std::string_view function, const Caller& caller,
                           Clock::time_point received)
    : observer_(std::move(observer)), function_(function), peer_(caller.routing_id), user_(caller.user_id),
      received_(received) {}

IncomingSpan::IncomingSpan(IncomingSpan&& other) noexcept
    : observer_(std::move(other.observer_)), function_(std::move(other.function_)), peer_(std::move(other.peer_)),
      user_(std::move(other.user_)), received_(other.received_), counters_(other.counters_),
      open_(std::exchange(other.open_, false)) {}

IncomingSpan& IncomingSpan::operator=(IncomingSpan&& other) noexcept {
  if (this != &other) {
    if (open_) finish(CallOutcome::abandoned, {}, Clock::now());
    observer_ = std::move(other.observer_);
    function_ = std::move(other.function_);
    peer_ = std::move(other.peer_);
    user_ = std::move(other.user_);
    received_ = other.received_;
    counters_ = other.counters_;
    open_ = std::exchange(other.open_, false);
  }
  return *this;
}

IncomingSpan::~IncomingSpan() {
  if (open_) finish(CallOutcome::abandoned, {}, Clock::now());
}

CallInfo IncomingSpan::info() const noexcept {
  return CallInfo{CallDirection::incoming, function_, peer_, user_, received_, std::nullopt};
}

std::exception_ptr IncomingSpan::start() {
  if (!observer_) return nullptr;
  const CallInfo call = info();
  counters_ = observer_->begin(call);
  open_ = true;
  return observer_->ask(call);
}

void IncomingSpan::handler_started() const {
  if (open_) observer_->handler_started(info());
}

void IncomingSpan::answered(wire::MessageType type, std::string_view body, Clock::time_point now) {
  if (!open_) return;
  if (type == wire::MessageType::ok) return finish(CallOutcome::ok, {}, now);
  finish(CallOutcome::error, error_name_in(body), now);
}

void IncomingSpan::ended(CallOutcome outcome, std::string_view error_name) {
  if (open_) finish(outcome, error_name, Clock::now());
}

void IncomingSpan::finish(CallOutcome outcome, std::string_view error_name, Clock::time_point now) {
  open_ = false;
  try {
    observer_->end(info(), counters_, outcome, error_name, now);
  } catch (...) {
    // Only the debug line can throw (allocation); the call is counted already.
  }
}

}  // namespace pseud::detail
