#pragma once
/// Interceptors: hooks that see every call a peer answers or makes, with how
/// it ended, and may refuse one before it runs (gRPC's interceptors,
/// middleware). Install them in PeerOptions::interceptors.

#include <chrono>
#include <optional>
#include <string_view>

namespace pseud {

/// Which way a call goes, seen from the peer that observes it.
enum class CallDirection {
  incoming,  ///< a request this peer answers
  outgoing,  ///< a call or notification this peer makes
};

/// How a call ended.
enum class CallOutcome {
  ok,           ///< answered OK
  error,        ///< answered ERROR: the handler's exception, a nack, a TypeError for bad arguments...
  refused,      ///< not run: no such function for this caller, overloaded, stopping, or an interceptor said no
  timeout,      ///< outgoing: no reply before its deadline
  cancelled,    ///< outgoing: its stop token fired
  unreachable,  ///< outgoing: not delivered, or its peer went away with it (PeerUnreachableError and kin)
  failed,       ///< outgoing: failed here (too large, not sendable to Python, peer stopped, reply not convertible)
  abandoned,    ///< incoming: the peer stopped before the request was answered
};

/// "ok", "error", "refused", "timeout", "cancelled", "unreachable", "failed", "abandoned".
std::string_view call_outcome_name(CallOutcome outcome) noexcept;
/// "incoming" or "outgoing".
std::string_view call_direction_name(CallDirection direction) noexcept;

/// One call, as interceptors see it. The views are valid during the hook only.
struct CallInfo {
  CallDirection direction = CallDirection::incoming;
  std::string_view function{};
  /// Incoming: the caller's routing id. Outgoing: the destination as the caller named it.
  std::string_view peer{};
  /// Incoming: the caller's authenticated User-Id (empty without authentication). Outgoing: empty.
  std::string_view user_id{};
  /// When the request arrived, or the call was made.
  std::chrono::steady_clock::time_point started{};
  /// Outgoing calls: when the call times out. Incoming calls and
  /// notifications have none (the pseud v1 wire carries no deadline).
  std::optional<std::chrono::steady_clock::time_point> deadline{};
};

/// How one call ended.
struct CallEnd {
  CallOutcome outcome = CallOutcome::ok;
  /// From the start (CallInfo::started) to the answer sent or received.
  std::chrono::nanoseconds duration{};
  /// The ERROR's class name ("TypeError", "Nack", "ServiceNotFoundError"...),
  /// or the local error's ("TimeoutError", "PeerGoneError"...); empty for ok.
  std::string_view error_name{};
};

/// A hook on every call of a peer. Both members may run on any of the peer's
/// threads, concurrently: make them thread-safe, and quick (incoming calls'
/// before() runs on the engine thread, which serves every other caller
/// meanwhile).
///
/// Every call reaches after() exactly once, including the ones refused before
/// anything ran (an unknown function, an overloaded caller, a stopping peer,
/// an interceptor's refusal), timeouts and cancellations. before() sees the
/// calls that get as far as running (incoming: a function was found for the
/// caller) or being sent (outgoing).
class Interceptor {
 public:
  virtual ~Interceptor() = default;

  /// Before an incoming call's handler runs, or before an outgoing call is
  /// sent. Throw to refuse it; the interceptors after this one are then not
  /// asked, and every interceptor's after() sees the outcome `refused`.
  /// Incoming: a pseud::RemoteError (or subclass) thrown here is the ERROR
  /// the caller receives, with its class name and message; any other
  /// exception is answered with a bare Nack (nothing of it leaves the
  /// process, as for a handler's undeclared exception) and logged.
  /// Outgoing: the call fails with the exception, and nothing is sent.
  virtual void before(const CallInfo& call) { (void)call; }

  /// Once the call ended. Must not throw (what it throws is logged and dropped).
  virtual void after(const CallInfo& call, const CallEnd& end) noexcept {
    (void)call;
    (void)end;
  }
};

}  // namespace pseud
