#pragma once
/// pseud::Task<T>: the coroutine type of pseud++. A function returning
/// Task<T> may `co_await` calls to other peers (Target::co_call) and other
/// tasks, and `co_return` a T. A task is lazy: it starts when awaited, when
/// sync_wait() runs it, or, for a handler, when the call arrives.
///
///   pseud::Task<int> relay_add(pseud::Client& other, int a, int b) {
///     co_return co_await other.co_call<int>("add", a, b);
///   }
///   server.register_rpc("relay_add", [&](int a, int b) { return relay_add(other, a, b); });
///   int sum = pseud::sync_wait(relay_add(other, 1, 2));  // from main() or a test
///
/// Threads: a task runs on the thread that started it until it first waits;
/// after `co_await x.co_call(...)` it goes on on the engine thread of the
/// peer that made that call (its Client or Server), which it then holds
/// until its next wait: keep that stretch short, as for any handler. Awaiting
/// a task continues where that task finished. A coroutine handler holds no
/// thread while it waits; its call counts as an open ReplyChannel (see
/// reply_channel.hpp) until it answers.

#include <atomic>
#include <condition_variable>
#include <coroutine>
#include <exception>
#include <mutex>
#include <optional>
#include <type_traits>
#include <utility>

#include "pseud/call.hpp"
#include "pseud/detail/engine_thread.hpp"

namespace pseud {

template <class T = void>
class Task;

namespace detail {

class TaskPromiseBase {
 public:
  std::suspend_always initial_suspend() const noexcept { return {}; }

  // The awaiter starts the task inline and suspends only if it has not
  // finished by then; of the task's end and the awaiter's suspension, the
  // second continues the awaiter. So a task that finishes at once never
  // resumes anything from inside itself, and a loop of such awaits does not
  // grow the stack (symmetric transfer would need tail calls, which builds
  // without optimisation, sanitizers included, do not make).
  struct FinalAwaiter {
    bool await_ready() const noexcept { return false; }
    template <class Promise>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> finished) const noexcept {
      TaskPromiseBase& promise = finished.promise();
      if (promise.second_.exchange(true, std::memory_order_acq_rel)) return promise.continuation_;
      return std::noop_coroutine();  // the awaiter is still starting it and goes on by itself
    }
    void await_resume() const noexcept {}
  };
  FinalAwaiter final_suspend() const noexcept { return {}; }

  void unhandled_exception() noexcept { error_ = std::current_exception(); }

  /// Starts the task for `awaiting`; false when it finished already.
  bool start_for(std::coroutine_handle<> awaiting, std::coroutine_handle<> self) {
    continuation_ = awaiting;
    self.resume();
    return !second_.exchange(true, std::memory_order_acq_rel);
  }

 protected:
  void rethrow_if_failed() const {
    if (error_) std::rethrow_exception(error_);
  }

 private:
  std::coroutine_handle<> continuation_;
  std::exception_ptr error_;
  std::atomic<bool> second_{false};
};

template <class T>
class TaskPromise : public TaskPromiseBase {
 public:
  Task<T> get_return_object() noexcept;
  template <class U = T>
    requires std::is_convertible_v<U&&, T>
  void return_value(U&& value) {
    value_.emplace(std::forward<U>(value));
  }
  T take() {
    rethrow_if_failed();
    return std::move(*value_);
  }

 private:
  std::optional<T> value_;
};

template <>
class TaskPromise<void> : public TaskPromiseBase {
 public:
  Task<void> get_return_object() noexcept;
  void return_void() noexcept {}
  void take() const { rethrow_if_failed(); }
};

}  // namespace detail

template <class T>
class [[nodiscard]] Task {
 public:
  static_assert(!std::is_reference_v<T>, "pseud::Task<T>: T is returned by value; use a value type or a pointer");
  using promise_type = detail::TaskPromise<T>;
  using value_type = T;

  Task(Task&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
  Task& operator=(Task&& other) noexcept {
    if (this != &other) {
      destroy();
      handle_ = std::exchange(other.handle_, {});
    }
    return *this;
  }
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;
  /// A task destroyed before it started never runs; one destroyed while it
  /// waits is abandoned (the call it waits for is dropped when it answers).
  ~Task() { destroy(); }

  /// `co_await std::move(task)` (or `co_await make_task()`): starts the task
  /// and goes on where it finishes, with its value or its exception.
  auto operator co_await() && {
    struct Awaiter {
      std::coroutine_handle<promise_type> task;
      bool await_ready() const noexcept { return task.done(); }
      bool await_suspend(std::coroutine_handle<> awaiting) const { return task.promise().start_for(awaiting, task); }
      T await_resume() const { return task.promise().take(); }
    };
    if (!handle_) detail::throw_moved_from_task();
    return Awaiter{handle_};
  }

 private:
  friend promise_type;
  explicit Task(std::coroutine_handle<promise_type> handle) noexcept : handle_(handle) {}
  void destroy() noexcept {
    if (handle_) handle_.destroy();
    handle_ = {};
  }

  std::coroutine_handle<promise_type> handle_;
};

namespace detail {

template <class T>
Task<T> TaskPromise<T>::get_return_object() noexcept {
  return Task<T>(std::coroutine_handle<TaskPromise<T>>::from_promise(*this));
}
inline Task<void> TaskPromise<void>::get_return_object() noexcept {
  return Task<void>(std::coroutine_handle<TaskPromise<void>>::from_promise(*this));
}

template <class T>
inline constexpr bool is_task_v = false;
template <class T>
inline constexpr bool is_task_v<Task<T>> = true;

/// A coroutine nobody awaits: it runs at once and frees itself at its end.
struct Detached {
  struct promise_type {
    Detached get_return_object() const noexcept { return {}; }
    std::suspend_never initial_suspend() const noexcept { return {}; }
    std::suspend_never final_suspend() const noexcept { return {}; }
    void return_void() const noexcept {}
    void unhandled_exception() const noexcept { std::terminate(); }  // start_detached catches everything
  };
};

/// Runs `task` to its end and hands its outcome, as a Result<T>, to
/// `done`, on the thread where the task finished. Starts it on this thread.
template <class T, class Done>
Detached start_detached(Task<T> task, Done done) {
  std::optional<Result<T>> outcome;
  try {
    if constexpr (std::is_void_v<T>) {
      co_await std::move(task);
      outcome.emplace();
    } else {
      outcome.emplace(co_await std::move(task));
    }
  } catch (...) {
    outcome.emplace(std::current_exception());
  }
  try {
    done(std::move(*outcome));
  } catch (...) {
    // `done` owns what answers for the task (a ReplyChannel, a waiter): if it
    // cannot, dropping it answers (a channel nacks).
  }
}

/// A task that awaits `awaitable` (e.g. a co_call) and gives its result.
template <class Awaitable, class R = decltype(std::declval<Awaitable&>().await_resume())>
Task<R> await_as_task(Awaitable awaitable) {
  if constexpr (std::is_void_v<R>) {
    co_await std::move(awaitable);
  } else {
    co_return co_await std::move(awaitable);
  }
}

}  // namespace detail

/// Runs `task` on this thread until it waits, then blocks until it
/// finishes; returns its value or throws its exception. For main() and
/// tests. Throws UsageError on a peer's engine thread, where waiting would
/// stop the replies it waits for.
template <class T>
T sync_wait(Task<T> task) {
  detail::refuse_on_engine_thread("pseud::sync_wait", "co_await the task instead");
  std::mutex mutex;
  std::condition_variable finished;
  std::optional<Result<T>> outcome;
  detail::start_detached(std::move(task), [&](Result<T>&& result) {
    std::lock_guard lock(mutex);
    outcome.emplace(std::move(result));
    finished.notify_one();  // under the lock: the waiter cannot return (and free these) before
  });
  std::unique_lock lock(mutex);
  finished.wait(lock, [&] { return outcome.has_value(); });
  return std::move(*outcome).get();
}

/// sync_wait of one awaitable, such as `client.co_call<int>("add", 1, 2)`.
template <class Awaitable>
  requires(!detail::is_task_v<std::remove_cvref_t<Awaitable>>)
auto sync_wait(Awaitable awaitable) {
  return sync_wait(detail::await_as_task(std::move(awaitable)));
}

}  // namespace pseud
