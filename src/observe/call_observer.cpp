#include "observe/call_observer.hpp"

#include <cstdio>

#include <msgpack.hpp>

#include "engine/engine_util.hpp"
#include "pseud/errors.hpp"
#include "pseud/registry.hpp"

namespace pseud::detail {

CallObserver::CallObserver(std::vector<std::shared_ptr<Interceptor>> interceptors, bool metrics,
                           std::size_t max_functions)
    : interceptors_(std::move(interceptors)),
      always_(metrics || !interceptors_.empty()),
      metrics_(metrics ? std::make_unique<MetricsTable>(max_functions) : nullptr) {}

namespace {

// "'add' from 'client-1'" or "'add' to 'server'", with peer-chosen bytes made printable.
std::string who(const CallInfo& call) {
  return in_quotes(printable(call.function)) + (call.direction == CallDirection::incoming ? " from " : " to ") +
         in_quotes(printable(call.peer));
}

// "0.042 ms": microsecond resolution, enough for a log line.
std::string milliseconds(std::chrono::nanoseconds duration) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3f ms", std::chrono::duration<double, std::milli>(duration).count());
  return text;
}

}  // namespace

FunctionCounters* CallObserver::begin(const CallInfo& call) {
  FunctionCounters* counters = nullptr;
  if (metrics_) {
    counters = &metrics_->counters(call.direction, call.function);
    counters->started();
  }
  if (log_enabled(LogLevel::debug)) {
    log_write(LogLevel::debug,
              "pseud: " + std::string(call.direction == CallDirection::incoming ? "received " : "calling ") + who(call));
  }
  return counters;
}

std::exception_ptr CallObserver::ask(const CallInfo& call) {
  for (const auto& interceptor : interceptors_) {
    try {
      interceptor->before(call);
    } catch (...) {
      return std::current_exception();
    }
  }
  return nullptr;
}

void CallObserver::end(const CallInfo& call, FunctionCounters* counters, CallOutcome outcome,
                       std::string_view error_name, Clock::time_point now) {
  const CallEnd end{outcome, std::chrono::duration_cast<std::chrono::nanoseconds>(now - call.started), error_name};
  if (counters) counters->ended(outcome, end.duration, true);
  if (log_enabled(LogLevel::debug)) {
    log(LogLevel::debug, "pseud: ", who(call), ": ", call_outcome_name(outcome),
        error_name.empty() ? "" : " ", error_name, " in ", milliseconds(end.duration));
  }
  tell_interceptors(call, end);
}

void CallObserver::refused(const CallInfo& call, std::string_view error_name) {
  const CallEnd end{CallOutcome::refused,
                    std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - call.started), error_name};
  if (metrics_) {
    FunctionCounters& counters = call.direction == CallDirection::outgoing
                                     ? metrics_->counters(CallDirection::outgoing, call.function)
                                     : metrics_->existing_or_unknown(call.function);
    counters.ended(CallOutcome::refused, end.duration, false);
  }
  if (log_enabled(LogLevel::debug)) log(LogLevel::debug, "pseud: ", who(call), ": refused ", error_name);
  tell_interceptors(call, end);
}

void CallObserver::handler_started(const CallInfo& call) const {
  if (log_enabled(LogLevel::debug)) log_write(LogLevel::debug, "pseud: started " + who(call));
}

void CallObserver::tell_interceptors(const CallInfo& call, const CallEnd& end) const noexcept {
  for (const auto& interceptor : interceptors_) {
    try {
      interceptor->after(call, end);
    } catch (const std::exception& e) {
      log(LogLevel::error, "pseud: an interceptor's after() threw: ", e.what());
    } catch (...) {
      log(LogLevel::error, "pseud: an interceptor's after() threw a non-std exception");
    }
  }
}

MetricsSnapshot CallObserver::metrics() const { return metrics_ ? metrics_->snapshot() : MetricsSnapshot{}; }

ReplyHandler observed_completion(std::shared_ptr<CallObserver> observer, const CallInfo& call,
                                 FunctionCounters* counters, ReplyHandler inner) {
  // The views of `call` do not outlive this function: the completion keeps copies.
  return [observer = std::move(observer), counters, function = std::string(call.function),
          peer = std::string(call.peer), started = call.started, deadline = call.deadline,
          inner = std::move(inner)](msgpack::object_handle* reply, std::exception_ptr error) {
    const auto [outcome, name] = outgoing_outcome(error);
    observer->end(CallInfo{CallDirection::outgoing, function, peer, {}, started, deadline}, counters, outcome, name,
                  CallObserver::Clock::now());
    inner(reply, std::move(error));
  };
}

std::pair<CallOutcome, std::string_view> outgoing_outcome(const std::exception_ptr& error) noexcept {
  if (!error) return {CallOutcome::ok, {}};
  try {
    std::rethrow_exception(error);
  } catch (const TimeoutError&) {
    return {CallOutcome::timeout, "TimeoutError"};
  } catch (const CancelledError&) {
    return {CallOutcome::cancelled, "CancelledError"};
  } catch (const HandshakeError&) {
    return {CallOutcome::unreachable, "HandshakeError"};
  } catch (const PeerGoneError&) {
    return {CallOutcome::unreachable, "PeerGoneError"};
  } catch (const PeerUnreachableError&) {
    return {CallOutcome::unreachable, "PeerUnreachableError"};
  } catch (const OutcomeUnknownError&) {
    return {CallOutcome::unreachable, "OutcomeUnknownError"};
  } catch (const ServiceNotFoundError&) {
    return {CallOutcome::refused, "ServiceNotFoundError"};
  } catch (const OverloadedError&) {
    return {CallOutcome::refused, "OverloadedError"};
  } catch (const UnavailableError&) {
    return {CallOutcome::refused, "UnavailableError"};
  } catch (const UnauthorizedError&) {
    return {CallOutcome::refused, "UnauthorizedError"};
  } catch (const RemoteError& e) {
    // Viewed for the hooks' duration only: the exception lives in `error`.
    return {CallOutcome::error, std::string_view(e.name())};
  } catch (const PeerStoppedError&) {
    return {CallOutcome::failed, "PeerStoppedError"};
  } catch (const MessageTooLargeError&) {
    return {CallOutcome::failed, "MessageTooLargeError"};
  } catch (const UsageError&) {
    return {CallOutcome::failed, "UsageError"};
  } catch (const ProtocolError&) {
    return {CallOutcome::failed, "ProtocolError"};
  } catch (...) {
    return {CallOutcome::failed, "Error"};
  }
}

std::string error_name_in(std::string_view body) {
  // ["Name", "message", "traceback"]: the name is the first str of the array.
  try {
    std::size_t offset = 0;
    const auto handle = msgpack::unpack(body.data(), body.size(), offset);
    const msgpack::object& object = handle.get();
    if (object.type != msgpack::type::ARRAY || object.via.array.size == 0) return {};
    const msgpack::object& name = object.via.array.ptr[0];
    if (name.type != msgpack::type::STR) return {};
    return std::string(name.via.str.ptr, name.via.str.size);
  } catch (...) {
    return {};
  }
}

RefusalReply refusal_reply(const std::exception_ptr& refusal, std::string_view function) {
  try {
    std::rethrow_exception(refusal);
  } catch (const RemoteError& e) {
    return {e.name(), e.message()};
  } catch (const std::exception& e) {
    log(LogLevel::error, "pseud: an interceptor refused ", in_quotes(printable(function)), " with ", e.what(),
        "; answering Nack (throw a pseud::RemoteError to choose what the caller is told)");
  } catch (...) {
    log(LogLevel::error, "pseud: an interceptor refused ", in_quotes(printable(function)),
        " with a non-std exception; answering Nack");
  }
  return {"Nack", ""};
}

}  // namespace pseud::detail
