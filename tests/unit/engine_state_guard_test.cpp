// StateGuard: the engine thread's hold on its state, and the windows in
// which another thread may send without waking it. Threads meet through
// futures with bounded waits; nothing sleeps to synchronise.

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <utility>
#include <future>
#include <thread>

#include <gtest/gtest.h>

#include "engine/state_guard.hpp"

namespace pseud::detail {
namespace {

using namespace std::chrono_literals;
using Clock = StateGuard::Clock;

// try_enter() from a thread other than the caller's.
bool other_thread_enters(StateGuard& guard) {
  return std::async(std::launch::async, [&] { return guard.try_enter().owns_lock(); }).get();
}

TEST(StateGuard, AnotherThreadCannotEnterWhileTheEngineRuns) {
  StateGuard guard;
  EXPECT_TRUE(other_thread_enters(guard));  // no engine yet
  guard.engine_start();
  EXPECT_FALSE(other_thread_enters(guard));
  guard.engine_finish();
  EXPECT_TRUE(other_thread_enters(guard));
}

TEST(StateGuard, AnotherThreadEntersWhileTheEngineWaitsAndSeesItsPlannedWake) {
  StateGuard guard;
  guard.engine_start();
  const auto wake_at = Clock::now() + 1h;
  bool entered = false;
  Clock::time_point seen{};
  const int result = guard.engine_wait(wake_at, [&] {
    // What a caller does while the engine polls: enter, read, leave.
    std::tie(entered, seen) = std::async(std::launch::async, [&] {
                                const auto lock = guard.try_enter();
                                return std::pair(lock.owns_lock(), guard.planned_wake());
                              }).get();
    return 7;
  });
  EXPECT_EQ(result, 7);  // engine_wait returns what the wait returned
  EXPECT_TRUE(entered);
  EXPECT_EQ(seen, wake_at);
  EXPECT_FALSE(other_thread_enters(guard));  // held again after the wait
  guard.engine_finish();
}

TEST(StateGuard, TheEngineWaitsForACallerStillInsideBeforeItGoesOn) {
  StateGuard guard;
  guard.engine_start();
  std::promise<void> caller_inside;
  std::promise<void> let_caller_go;
  std::future<void> caller;
  std::atomic<bool> caller_done{false};  // set while the caller still holds the lock
  guard.engine_wait(Clock::time_point::max(), [&] {
    caller = std::async(std::launch::async, [&] {
      const auto lock = guard.try_enter();
      ASSERT_TRUE(lock.owns_lock());
      caller_inside.set_value();
      // Bounded: the test fails rather than hangs if the engine never waits.
      ASSERT_EQ(let_caller_go.get_future().wait_for(10s), std::future_status::ready);
      caller_done = true;
    });
    EXPECT_EQ(caller_inside.get_future().wait_for(10s), std::future_status::ready);
    let_caller_go.set_value();
    return 0;
  });
  // engine_wait took the lock back, so the caller must have been done.
  EXPECT_TRUE(caller_done);
  guard.engine_finish();
  caller.get();
}

TEST(StateGuard, ACompletionOnTheEngineThreadReentersOnlyWhenReleased) {
  StateGuard guard;
  guard.engine_start();
  // From a handler: the engine thread holds the lock already.
  EXPECT_FALSE(guard.engine_reenter().owns_lock());
  guard.engine_release_while([&] {
    // From a completion: the lock was let go, so the engine thread takes it
    // (and other threads are kept out while it does).
    const auto lock = guard.engine_reenter();
    EXPECT_TRUE(lock.owns_lock());
    EXPECT_FALSE(other_thread_enters(guard));
  });
  EXPECT_FALSE(other_thread_enters(guard));  // held again after the completion
  guard.engine_finish();
}

TEST(StateGuard, AnExceptionFromTheWaitLeavesTheEngineHolding) {
  StateGuard guard;
  guard.engine_start();
  EXPECT_THROW(guard.engine_wait(Clock::now(), []() -> int { throw std::runtime_error("poll"); }),
               std::runtime_error);
  EXPECT_FALSE(other_thread_enters(guard));
  guard.engine_finish();
  EXPECT_TRUE(other_thread_enters(guard));
}

}  // namespace
}  // namespace pseud::detail
