#pragma once
/// Outgoing calls: per-call options and the outcome the callback form receives.

#include <chrono>
#include <exception>
#include <optional>
#include <stop_token>
#include <utility>
#include <variant>

namespace pseud {

/// Per-call options. Pass one anywhere among a call's arguments.
struct CallOptions {
  /// Give up after this long (default: the peer's default_timeout, 5 s).
  std::optional<std::chrono::milliseconds> timeout{};
  /// Give up at this time; wins over `timeout` when both are set.
  std::optional<std::chrono::steady_clock::time_point> deadline{};
  /// Requesting stop cancels the call with CancelledError; a late reply is then dropped.
  std::stop_token stop{};
  /// Wait (until the deadline) for a connection instead of failing at once
  /// when the destination is not connected.
  bool wait_for_ready = false;
  /// Running the function twice does no harm: a ServiceClient may then send
  /// the call to another instance after the first was lost with the call in
  /// its hands (otherwise that is OutcomeUnknownError).
  bool idempotent = false;
};

/// The outcome of a call, for the callback form. `get()` returns the value or
/// throws the call's error.
template <class R>
class Result {
 public:
  explicit Result(R value) : state_(std::move(value)) {}
  explicit Result(std::exception_ptr error) : state_(std::move(error)) {}

  bool ok() const noexcept { return state_.index() == 0; }
  std::exception_ptr error() const noexcept { return ok() ? nullptr : std::get<1>(state_); }
  R& get() & {
    if (!ok()) std::rethrow_exception(std::get<1>(state_));
    return std::get<0>(state_);
  }
  R get() && {
    if (!ok()) std::rethrow_exception(std::get<1>(state_));
    return std::move(std::get<0>(state_));
  }

 private:
  std::variant<R, std::exception_ptr> state_;
};

template <>
class Result<void> {
 public:
  Result() = default;
  explicit Result(std::exception_ptr error) : error_(std::move(error)) {}

  bool ok() const noexcept { return !error_; }
  std::exception_ptr error() const noexcept { return error_; }
  void get() const {
    if (error_) std::rethrow_exception(error_);
  }

 private:
  std::exception_ptr error_;
};

}  // namespace pseud
