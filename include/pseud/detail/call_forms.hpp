#pragma once
/// pseud::detail is not part of the API (see outgoing_call.hpp). The
/// blocking and future call forms over any `submit(OutgoingCall)`, shared by
/// Target and ServiceClient.

#include <future>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "pseud/detail/engine_thread.hpp"
#include "pseud/detail/outgoing_call.hpp"

namespace pseud::detail {

/// Refuses a blocking call on an engine thread, where waiting could deadlock.
inline void refuse_blocking_call(std::string_view function) {
  if (!on_any_engine_thread()) return;
  refuse_on_engine_thread("call('" + std::string(function) + "')",
                          "make the handler a coroutine (return pseud::Task<T>) and co_await co_call, use "
                          "async_call, or register the calling handler with RpcOptions{.blocking = true}");
}

/// Submits `call` and waits for its reply, converted on the calling thread.
template <class R, class Submit>
R wait_for_reply(Submit&& submit, OutgoingCall call) {
  auto waiter = std::make_shared<ReplyWaiter>();
  call.on_reply = [waiter](msgpack::object_handle* reply, std::exception_ptr error) { waiter->set(reply, error); };
  submit(std::move(call));
  return waiter->template take<R>();
}

/// Submits `call`; the future holds the converted reply or the error.
template <class R, class Submit>
std::future<R> future_of_reply(Submit&& submit, OutgoingCall call) {
  auto promise = std::make_shared<std::promise<R>>();
  std::future<R> future = promise->get_future();
  call.on_reply = result_handler<R>([promise](Result<R> result) {
    if (!result.ok()) return promise->set_exception(result.error());
    if constexpr (std::is_void_v<R>) {
      promise->set_value();
    } else {
      promise->set_value(std::move(result).get());
    }
  });
  submit(std::move(call));
  return future;
}

}  // namespace pseud::detail
