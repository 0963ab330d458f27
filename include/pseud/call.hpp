#pragma once
/// Outgoing calls: options, results, and the packing shared by every call form.

#include <chrono>
#include <coroutine>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

#include <msgpack.hpp>

#include "pseud/errors.hpp"
#include "pseud/values.hpp"

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

namespace detail {

/// Completion of one call, run on the engine thread: either `value` (an OK
/// body, valid only during the call) or `error`.
using ReplyHandler = std::function<void(const msgpack::object* value, std::exception_ptr error)>;

/// A packed call ready for the engine.
struct OutgoingCall {
  std::string destination;
  std::string function;
  pseud::detail::WireBuffer body;
  CallOptions options;
  ReplyHandler on_reply;
};

template <class T>
inline constexpr bool is_call_option_v =
    std::is_same_v<std::remove_cvref_t<T>, KeywordArgs> || std::is_same_v<std::remove_cvref_t<T>, CallOptions>;

template <class T>
inline constexpr bool is_keywords_v =
    std::is_same_v<std::remove_cvref_t<T>, KeywordArgs> || std::is_same_v<std::remove_cvref_t<T>, Kwargs>;

/// How many positional values one call argument contributes.
template <class T>
std::uint32_t positional_count(const T& arg) {
  if constexpr (std::is_same_v<T, Args>) {
    return static_cast<std::uint32_t>(arg.size());
  } else {
    return is_call_option_v<T> || is_keywords_v<T> ? 0u : 1u;
  }
}

template <class T>
std::uint32_t keyword_count(const T& arg) {
  if constexpr (std::is_same_v<T, KeywordArgs> || std::is_same_v<T, Kwargs>) {
    return static_cast<std::uint32_t>(arg.size());
  } else {
    return 0u;
  }
}

/// Packs `[function, [positional...], {keywords...}]`. Among `args`, a
/// KeywordArgs (pseud::kw) or Kwargs adds keywords, an Args spreads its
/// values as positionals (Python's f(*args, **kwargs)), and a CallOptions
/// sets the call's options.
template <class... A>
OutgoingCall pack_call(std::string destination, std::string_view function, A&&... args) {
  OutgoingCall call{std::move(destination), std::string(function), pseud::detail::WireBuffer(128), {}, {}};
  msgpack::packer<pseud::detail::WireBuffer> out(call.body);
  out.pack_array(3);
  out.pack_str(static_cast<std::uint32_t>(function.size()));
  out.pack_str_body(function.data(), static_cast<std::uint32_t>(function.size()));
  out.pack_array((0u + ... + positional_count<std::remove_cvref_t<A>>(args)));
  auto pack_positional = [&](auto&& arg) {
    using T = std::remove_cvref_t<decltype(arg)>;
    if constexpr (std::is_same_v<T, CallOptions>) {
      call.options = arg;
    } else if constexpr (std::is_same_v<T, Args>) {
      for (const msgpack::object& item : arg) out.pack(item);
    } else if constexpr (!is_keywords_v<T>) {
      out.pack(arg);
    }
  };
  (pack_positional(args), ...);
  (void)pack_positional;  // unused when there are no arguments
  out.pack_map((0u + ... + keyword_count<std::remove_cvref_t<A>>(args)));
  auto pack_keywords = [&](auto&& arg) {
    using T = std::remove_cvref_t<decltype(arg)>;
    if constexpr (std::is_same_v<T, KeywordArgs>) {
      call.body.write(arg.packed().data(), arg.packed().size());
    } else if constexpr (std::is_same_v<T, Kwargs>) {
      for (const auto& [key, value] : arg) {
        out.pack_str(static_cast<std::uint32_t>(key.size()));
        out.pack_str_body(key.data(), static_cast<std::uint32_t>(key.size()));
        out.pack(*value);
      }
    }
  };
  (pack_keywords(args), ...);
  (void)pack_keywords;
  return call;
}

/// Converts an OK body to R; throws ConversionError when it does not fit.
template <class R>
R convert_reply(const msgpack::object& value) {
  if constexpr (std::is_same_v<R, msgpack::object_handle>) {
    return msgpack::clone(value);
  } else {
    try {
      return value.as<R>();
    } catch (const msgpack::type_error&) {
      throw ConversionError("the reply does not convert to the requested C++ type (msgpack type " +
                            std::to_string(static_cast<int>(value.type)) + ")");
    }
  }
}

/// Wraps a Result<R> callback as the engine's ReplyHandler.
template <class R, class Callback>
ReplyHandler result_handler(Callback&& callback) {
  return [cb = std::forward<Callback>(callback)](const msgpack::object* value, std::exception_ptr error) mutable {
    if constexpr (std::is_void_v<R>) {
      cb(error ? Result<void>(error) : Result<void>());
    } else {
      if (error) return cb(Result<R>(error));
      std::optional<Result<R>> result;
      try {
        result.emplace(convert_reply<R>(*value));
      } catch (...) {
        result.emplace(std::current_exception());
      }
      cb(std::move(*result));
    }
  };
}

}  // namespace detail
}  // namespace pseud
