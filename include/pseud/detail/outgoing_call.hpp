#pragma once
/// pseud::detail is not part of the API: what is in it may change in any
/// release without notice. This header holds the call forms' machinery (the
/// packed call the engine takes, and how its reply comes back), installed
/// because the call templates in peer.hpp need it.

#include <atomic>
#include <cstdint>
#include <exception>
#include <functional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include <msgpack.hpp>

#include "pseud/call.hpp"
#include "pseud/detail/wire_buffer.hpp"
#include "pseud/errors.hpp"
#include "pseud/field_error.hpp"
#include "pseud/values.hpp"

namespace pseud {

namespace detail {

/// Completion of one call, run once on the engine thread: either `reply`
/// (the OK body, decoded; the handler may move it away, to convert it on
/// another thread) or `error`.
using ReplyHandler = std::function<void(msgpack::object_handle* reply, std::exception_ptr error)>;

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
    } catch (const FieldError& e) {  // a typed command (command.hpp) naming its field
      throw ConversionError(std::string("the reply does not convert to the requested C++ type: ") + e.what());
    } catch (const msgpack::type_error&) {
      throw ConversionError("the reply does not convert to the requested C++ type (msgpack type " +
                            std::to_string(static_cast<int>(value.type)) + ")");
    }
  }
}

/// The outcome of a call as a Result<R>, converted on the calling thread.
template <class R>
Result<R> to_result(msgpack::object_handle* reply, std::exception_ptr error) {
  if constexpr (std::is_void_v<R>) {
    return error ? Result<void>(std::move(error)) : Result<void>();
  } else {
    if (error) return Result<R>(std::move(error));
    try {
      if constexpr (std::is_same_v<R, msgpack::object_handle>) {
        return Result<R>(std::move(*reply));  // already owned: no copy
      } else {
        return Result<R>(convert_reply<R>(reply->get()));
      }
    } catch (...) {
      return Result<R>(std::current_exception());
    }
  }
}

/// Wraps a Result<R> callback as the engine's ReplyHandler (the conversion
/// runs on the engine thread, as the callback does).
template <class R, class Callback>
ReplyHandler result_handler(Callback&& callback) {
  return [cb = std::forward<Callback>(callback)](msgpack::object_handle* reply, std::exception_ptr error) mutable {
    cb(to_result<R>(reply, std::move(error)));
  };
}

/// Where a blocking call() waits: the engine thread hands over the decoded
/// reply and the caller converts it on its own thread. The caller sleeps on a
/// futex at once, with no spinning (std::atomic::wait yields the CPU a few
/// times first: 4 sched_yield calls per call, measured, on machines where
/// the engine and I/O threads need that CPU), and the engine thread makes
/// the wake-up call only when the caller is asleep.
class ReplyWaiter {
 public:
  /// The engine thread's side: keeps the reply (or error) and wakes the waiter.
  void set(msgpack::object_handle* reply, std::exception_ptr error) noexcept {
    if (reply) reply_ = std::move(*reply);
    error_ = std::move(error);
    mark_done();
  }

  /// The caller's side: waits for set(), then converts.
  template <class R>
  R take() {
    wait_done();
    return to_result<R>(&reply_, std::move(error_)).get();
  }

 private:
  void mark_done() noexcept;
  void wait_done() noexcept;

  std::atomic<int> state_{0};  // 0 waiting for the reply, 1 done, 2 the caller sleeps on it
  msgpack::object_handle reply_;
  std::exception_ptr error_;
};

}  // namespace detail

}  // namespace pseud
