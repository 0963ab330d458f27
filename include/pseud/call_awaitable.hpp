#pragma once
/// What co_call returns: `R r = co_await peer.co_call<R>(...)` (or a
/// ServiceClient's). The coroutine goes on on the thread the reply arrives
/// on (an engine thread), or at once on its own thread when the call ends
/// before it could be suspended; nothing waits meanwhile.

#include <coroutine>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <utility>

#include "pseud/detail/outgoing_call.hpp"

namespace pseud {

/// Awaitable of one call. Destroying it while suspended abandons the call:
/// its reply is dropped and the coroutine is not resumed.
template <class R>
class CallAwaitable {
 public:
  /// `submit` hands the packed call to whoever sends it (a peer, a ServiceClient).
  using Submit = std::function<void(detail::OutgoingCall)>;

  CallAwaitable(Submit submit, detail::OutgoingCall call)
      : submit_(std::move(submit)), call_(std::move(call)), state_(std::make_shared<State>()) {}
  CallAwaitable(CallAwaitable&&) noexcept = default;
  CallAwaitable& operator=(CallAwaitable&&) = delete;
  ~CallAwaitable() {
    if (!state_) return;
    std::lock_guard lock(state_->mutex);
    state_->abandoned = true;
  }

  bool await_ready() const noexcept { return false; }

  bool await_suspend(std::coroutine_handle<> handle) {
    state_->handle = handle;
    call_.on_reply = [state = state_](msgpack::object_handle* reply, std::exception_ptr error) {
      std::unique_lock lock(state->mutex);
      if (reply) state->reply = std::move(*reply);
      state->error = std::move(error);
      state->done = true;
      if (!state->waiting || state->abandoned) return;
      auto resume = state->handle;
      lock.unlock();
      resume.resume();
    };
    submit_(std::move(call_));
    std::lock_guard lock(state_->mutex);
    if (state_->done) return false;  // completed inside submit(): do not suspend
    state_->waiting = true;
    return true;
  }

  /// Converts the reply where the coroutine resumes.
  R await_resume() { return detail::to_result<R>(&state_->reply, std::move(state_->error)).get(); }

 private:
  struct State {
    std::mutex mutex;
    msgpack::object_handle reply;
    std::exception_ptr error;
    bool done = false;
    std::coroutine_handle<> handle;
    bool waiting = false;
    bool abandoned = false;
  };

  Submit submit_;
  detail::OutgoingCall call_;
  std::shared_ptr<State> state_;
};

}  // namespace pseud
