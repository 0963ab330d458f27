#pragma once
// Layer 4 (observe): one incoming call from the moment a function was found
// for it to its answer, for the peer's CallObserver. Travels with the call
// (onto a worker, into its ReplyChannel) and ends once: with the answer, or,
// destroyed unanswered (the peer stopped first), as abandoned. An empty span
// (nothing watching) costs nothing.

#include <chrono>
#include <exception>
#include <memory>
#include <string>
#include <string_view>

#include "observe/call_observer.hpp"
#include "pseud/caller.hpp"
#include "wire/message.hpp"

namespace pseud::detail {

class IncomingSpan {
 public:
  using Clock = std::chrono::steady_clock;

  IncomingSpan() noexcept = default;
  IncomingSpan(std::shared_ptr<CallObserver> observer, std::string_view function, const Caller& caller,
               Clock::time_point received);
  IncomingSpan(IncomingSpan&& other) noexcept;
  IncomingSpan& operator=(IncomingSpan&& other) noexcept;
  ~IncomingSpan();

  explicit operator bool() const noexcept { return open_; }

  /// Counts the call in flight and asks the interceptors: their refusal
  /// (end the span with ended(refused, ...) once it is answered), or null
  /// to run the handler.
  std::exception_ptr start();
  /// The handler starts now (its debug line).
  void handler_started() const;
  /// The call was answered with `type` and the encoded `body`.
  void answered(wire::MessageType type, std::string_view body, Clock::time_point now = Clock::now());
  /// The call ended without running its handler.
  void ended(CallOutcome outcome, std::string_view error_name);

 private:
  CallInfo info() const noexcept;
  void finish(CallOutcome outcome, std::string_view error_name, Clock::time_point now);

  std::shared_ptr<CallObserver> observer_;
  std::string function_, peer_, user_;
  Clock::time_point received_{};
  FunctionCounters* counters_ = nullptr;
  bool open_ = false;
};

}  // namespace pseud::detail
