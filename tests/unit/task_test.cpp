// pseud::Task and sync_wait on their own, without peers: values, void,
// exceptions, laziness, a long chain of tasks that finish at once (which
// must not grow the stack), and a task resumed from another thread.

#include <atomic>
#include <coroutine>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "pseud/errors.hpp"
#include "pseud/task.hpp"

namespace pseud {
namespace {

Task<int> answer() { co_return 42; }
Task<std::string> text(std::string prefix) { co_return prefix + "!"; }
Task<int> twice() { co_return co_await answer() + co_await answer(); }
Task<void> count_up(int& counter) {
  ++counter;
  co_return;
}
Task<int> fails() {
  throw std::invalid_argument("bad input");
  co_return 0;
}

TEST(Task, SyncWaitGivesTheValue) {
  EXPECT_EQ(sync_wait(answer()), 42);
  EXPECT_EQ(sync_wait(text("hello")), "hello!");
  EXPECT_EQ(sync_wait(twice()), 84);
}

TEST(Task, VoidTasksRun) {
  int counter = 0;
  sync_wait(count_up(counter));
  EXPECT_EQ(counter, 1);
}

TEST(Task, ExceptionsReachTheAwaiterWithTheirType) {
  EXPECT_THROW(sync_wait(fails()), std::invalid_argument);
  auto catches = []() -> Task<std::string> {
    try {
      co_await fails();
    } catch (const std::invalid_argument& e) {
      co_return std::string("caught ") + e.what();
    }
    co_return "not caught";
  };
  EXPECT_EQ(sync_wait(catches()), "caught bad input");
}

TEST(Task, ATaskIsLazyAndOneNeverAwaitedNeverRuns) {
  int counter = 0;
  {
    Task<void> task = count_up(counter);
    EXPECT_EQ(counter, 0);
  }  // destroyed unstarted: its frame is freed (the sanitizer build checks)
  EXPECT_EQ(counter, 0);
  Task<void> task = count_up(counter);
  Task<void> moved = std::move(task);
  sync_wait(std::move(moved));
  EXPECT_EQ(counter, 1);
}

TEST(Task, AMovedFromTaskCannotBeAwaited) {
  Task<int> task = answer();
  Task<int> other = std::move(task);
  EXPECT_THROW(sync_wait(std::move(task)), UsageError);  // NOLINT(bugprone-use-after-move): on purpose
  EXPECT_EQ(sync_wait(std::move(other)), 42);
}

TEST(Task, AMillionTasksThatFinishAtOnceDoNotGrowTheStack) {
  // Each awaited task finishes inside the awaiter's start and the loop goes
  // on without suspending. Had the task's end resumed the loop from inside
  // itself, each iteration would keep a stack frame and overflow (it did
  // with symmetric transfer under AddressSanitizer, which makes no tail calls).
  auto sum = []() -> Task<long> {
    long total = 0;
    for (int i = 0; i < 1'000'000; ++i) total += co_await answer();
    co_return total;
  };
  EXPECT_EQ(sync_wait(sum()), 42'000'000L);
}

// Resumes the awaiting coroutine from a thread of its own.
struct ResumeOnAnotherThread {
  std::thread* thread;
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> handle) const {
    // The coroutine (and this awaiter, in its frame) may run on and end
    // before the assignment below: nothing of `this` is read after the start.
    std::thread* slot = thread;
    *slot = std::thread([handle] { handle.resume(); });
  }
  std::thread::id await_resume() const noexcept { return std::this_thread::get_id(); }
};

TEST(Task, SyncWaitReturnsWhenTheTaskFinishesOnAnotherThread) {
  std::thread worker;
  auto hop = [](std::thread* worker) -> Task<std::thread::id> { co_return co_await ResumeOnAnotherThread{worker}; };
  const std::thread::id resumed_on = sync_wait(hop(&worker));
  worker.join();
  EXPECT_NE(resumed_on, std::this_thread::get_id());
}

}  // namespace
}  // namespace pseud
