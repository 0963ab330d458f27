// CheckPool: the bounded threads password checks run on. Jobs run on the
// pool's threads, a full queue refuses at once, destruction drops queued
// jobs unrun (destroying what they hold) and waits for running ones.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "security/check_pool.hpp"

namespace pseud::security {
namespace {

using namespace std::chrono_literals;

// A latch the test opens: jobs block on it so the queue can be filled.
class Gate {
 public:
  void wait() {
    std::unique_lock lock(mutex_);
    if (!changed_.wait_for(lock, 5s, [this] { return open_; })) ADD_FAILURE() << "gate never opened";
  }
  void open() {
    {
      std::lock_guard lock(mutex_);
      open_ = true;
    }
    changed_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool open_ = false;
};

// Counts jobs that started, so the test knows when every thread is busy.
struct Started {
  std::mutex mutex;
  std::condition_variable changed;
  int count = 0;
  void add() {
    {
      std::lock_guard lock(mutex);
      ++count;
    }
    changed.notify_all();
  }
  bool wait_for(int n) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, 5s, [&] { return count >= n; });
  }
};

TEST(CheckPool, RunsJobsOnItsOwnThreads) {
  CheckPool pool(2, 8);
  EXPECT_EQ(pool.threads(), 2u);
  EXPECT_EQ(pool.queue_limit(), 8u);
  std::mutex mutex;
  std::set<std::thread::id> seen;
  std::vector<std::future<void>> done;
  for (int i = 0; i < 6; ++i) {
    auto promise = std::make_shared<std::promise<void>>();
    done.push_back(promise->get_future());
    ASSERT_TRUE(pool.try_post([&, promise] {
      {
        std::lock_guard lock(mutex);
        seen.insert(std::this_thread::get_id());
      }
      promise->set_value();
    }));
  }
  for (auto& f : done) ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(seen.count(std::this_thread::get_id()), 0u);
  EXPECT_LE(seen.size(), 2u);
}

TEST(CheckPool, AFullQueueRefusesAtOnceAndDropsTheJob) {
  CheckPool pool(1, 2);
  Gate gate;
  Started started;
  ASSERT_TRUE(pool.try_post([&] {
    started.add();
    gate.wait();
  }));
  ASSERT_TRUE(started.wait_for(1));  // the one thread is busy: what follows queues
  std::atomic<int> ran{0};
  EXPECT_TRUE(pool.try_post([&] { ++ran; }));
  EXPECT_TRUE(pool.try_post([&] { ++ran; }));
  EXPECT_EQ(pool.queued(), 2u);
  auto held = std::make_shared<int>(0);
  std::weak_ptr<int> watch = held;
  const auto before = std::chrono::steady_clock::now();
  EXPECT_FALSE(pool.try_post([&, held = std::move(held)] { ++ran; }));
  EXPECT_LT(std::chrono::steady_clock::now() - before, 100ms);
  EXPECT_TRUE(watch.expired()) << "a refused job is destroyed at once";
  gate.open();
  const auto until = std::chrono::steady_clock::now() + 5s;
  while (ran.load() < 2 && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(1ms);  // polling step
  EXPECT_EQ(ran.load(), 2);
  EXPECT_TRUE(pool.try_post([] {}));  // room again
}

TEST(CheckPool, DestructionDropsQueuedJobsAndWaitsForRunningOnes) {
  auto pool = std::make_unique<CheckPool>(1, 4);
  Gate gate;
  Started started;
  std::atomic<bool> finished{false};
  ASSERT_TRUE(pool->try_post([&] {
    started.add();
    gate.wait();
    finished = true;
  }));
  ASSERT_TRUE(started.wait_for(1));
  std::atomic<int> ran{0};
  auto held = std::make_shared<int>(0);
  std::weak_ptr<int> watch = held;
  ASSERT_TRUE(pool->try_post([&, held = std::move(held)] { ++ran; }));
  auto destroyed = std::async(std::launch::async, [&] { pool.reset(); });
  // The queued job is dropped (what it holds released) while the running one still runs.
  const auto until = std::chrono::steady_clock::now() + 5s;
  while (!watch.expired() && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(1ms);  // polling step
  EXPECT_TRUE(watch.expired());
  EXPECT_EQ(destroyed.wait_for(50ms), std::future_status::timeout) << "returned before the running job ended";
  gate.open();
  ASSERT_EQ(destroyed.wait_for(5s), std::future_status::ready);
  EXPECT_TRUE(finished.load());
  EXPECT_EQ(ran.load(), 0);
}

TEST(CheckPool, AThrowingJobLeavesThePoolServing) {
  CheckPool pool(1, 4);
  ASSERT_TRUE(pool.try_post([] { throw std::runtime_error("boom"); }));
  std::promise<void> done;
  auto future = done.get_future();
  ASSERT_TRUE(pool.try_post([&] { done.set_value(); }));
  EXPECT_EQ(future.wait_for(5s), std::future_status::ready);
}

TEST(CheckPool, AJobMayDropTheLastReferenceToItsPool) {
  auto pool = std::make_shared<CheckPool>(1, 4);
  std::promise<void> done;
  auto future = done.get_future();
  auto* raw = pool.get();
  // The job owns the only reference: the pool is destroyed on its own thread.
  ASSERT_TRUE(raw->try_post([&, keep = std::move(pool)]() mutable {
    keep.reset();
    done.set_value();
  }));
  EXPECT_EQ(future.wait_for(5s), std::future_status::ready);
}

TEST(CheckPool, TheSharedPoolIsOnePerProcessAndRemadeAfterItsLastHolder) {
  auto first = shared_check_pool();
  auto second = shared_check_pool();
  EXPECT_EQ(first, second);
  EXPECT_EQ(first->threads(), check_pool_threads());
  EXPECT_GE(check_pool_threads(), 1u);
  EXPECT_LE(check_pool_threads(), 2u);
  EXPECT_EQ(first->queue_limit(), check_pool_queue);
  std::weak_ptr<CheckPool> watch = first;
  first.reset();
  second.reset();
  EXPECT_TRUE(watch.expired()) << "the last holder joins its threads";
  auto again = shared_check_pool();
  EXPECT_NE(again, nullptr);
  std::promise<void> done;
  auto future = done.get_future();
  ASSERT_TRUE(again->try_post([&] { done.set_value(); }));
  EXPECT_EQ(future.wait_for(5s), std::future_status::ready);
}

}  // namespace
}  // namespace pseud::security
