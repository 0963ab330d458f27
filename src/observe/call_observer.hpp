#pragma once
// Layer 4 (observe): what watches the calls of one peer, both ways: its
// interceptors (PeerOptions::interceptors), its metrics per function, and
// the debug log lines of each call. Shared by the engine, its workers and
// the reply channels (which may outlive the engine). Thread-safe.

#include <chrono>
#include <exception>
#include <memory>
#include <string>
#include <utility>
#include <string_view>
#include <vector>

#include "observe/metrics_table.hpp"
#include "pseud/detail/outgoing_call.hpp"
#include "pseud/interceptor.hpp"
#include "pseud/log.hpp"
#include "pseud/metrics.hpp"

namespace pseud::detail {

class CallObserver {
 public:
  using Clock = std::chrono::steady_clock;

  CallObserver(std::vector<std::shared_ptr<Interceptor>> interceptors, bool metrics, std::size_t max_functions);

  /// True when anything looks at calls now; when false, calls skip all of this.
  bool watching() const noexcept { return always_ || log_enabled(LogLevel::debug); }

  /// A call about to run or be sent: counted in flight and logged. Returns
  /// its counters (null without metrics), which end() takes back.
  FunctionCounters* begin(const CallInfo& call);
  /// The interceptors' before(), in order: the first refusal, or null.
  std::exception_ptr ask(const CallInfo& call);
  /// A call that began ended.
  void end(const CallInfo& call, FunctionCounters* counters, CallOutcome outcome, std::string_view error_name,
           Clock::time_point now);
  /// A call refused before it began: an incoming one with no function for
  /// this caller or to a stopping peer (counted under its name if that has
  /// counters, else under "(unknown)"), an outgoing notification an
  /// interceptor refused.
  void refused(const CallInfo& call, std::string_view error_name);
  /// The debug line of a handler starting.
  void handler_started(const CallInfo& call) const;

  MetricsSnapshot metrics() const;

 private:
  void tell_interceptors(const CallInfo& call, const CallEnd& end) const noexcept;

  const std::vector<std::shared_ptr<Interceptor>> interceptors_;
  const bool always_;
  std::unique_ptr<MetricsTable> metrics_;  // null: metrics off
};

/// `inner`, ending the outgoing call `call` (begun with `counters`) for
/// `observer` first, whatever completes it: the reply, an error, a timeout,
/// a cancellation, the peer stopping.
ReplyHandler observed_completion(std::shared_ptr<CallObserver> observer, const CallInfo& call,
                                 FunctionCounters* counters, ReplyHandler inner);

/// The outcome and error class name of an outgoing call completed with `error` (null: ok).
std::pair<CallOutcome, std::string_view> outgoing_outcome(const std::exception_ptr& error) noexcept;

/// The class name of the ERROR whose encoded body is `body` ("" when it is not one).
std::string error_name_in(std::string_view body);

/// What an incoming call refused by an interceptor is answered: a RemoteError's
/// name and message, else a bare Nack (nothing of the exception leaves the process).
struct RefusalReply {
  std::string name;
  std::string message;
};
RefusalReply refusal_reply(const std::exception_ptr& refusal, std::string_view function);

}  // namespace pseud::detail
