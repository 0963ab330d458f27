#include "security/check_pool.hpp"

#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include <exception>

#include "log.hpp"
#include "pseud/passwords.hpp"

namespace pseud::security {

CheckPool::CheckPool(std::size_t threads, std::size_t queue_limit) : queue_limit_(queue_limit) {
  threads_.reserve(threads);
  try {
    for (std::size_t i = 0; i < threads; ++i) threads_.emplace_back([state = state_] { run(state); });
  } catch (...) {
    {
      std::lock_guard lock(state_->mutex);
      state_->closed = true;
    }
    state_->wake.notify_all();
    for (auto& thread : threads_) thread.join();
    throw;
  }
}

CheckPool::~CheckPool() {
  std::deque<std::function<void()>> discarded;
  {
    std::lock_guard lock(state_->mutex);
    state_->closed = true;
    discarded.swap(state_->jobs);
  }
  state_->wake.notify_all();
  discarded.clear();  // outside the lock: a job's captures may answer their clients as they go
  for (auto& thread : threads_) {
    if (thread.get_id() == std::this_thread::get_id()) {
      thread.detach();  // never join oneself; the thread holds the state it still needs
    } else {
      thread.join();
    }
  }
}

bool CheckPool::try_post(std::function<void()> job) {
  // Once queued, the job may run, and drop the last reference to this pool,
  // before this returns: only the state, held here, is touched after that.
  const std::shared_ptr<State> state = state_;
  {
    std::lock_guard lock(state->mutex);
    if (state->closed || threads_.empty() || state->jobs.size() >= queue_limit_) return false;
    state->jobs.push_back(std::move(job));
  }
  state->wake.notify_one();
  return true;
}

std::size_t CheckPool::queued() const {
  std::lock_guard lock(state_->mutex);
  return state_->jobs.size();
}

void CheckPool::run(const std::shared_ptr<State>& state) {
  ::pthread_setname_np(::pthread_self(), "pseud-pwcheck");
  // On Linux a thread is a task with a nice value of its own; raising it needs no privilege.
  errno = 0;
  const int nice = ::getpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()));
  if (errno == 0) ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), nice + check_pool_niceness);
  while (true) {
    std::function<void()> job;
    {
      std::unique_lock lock(state->mutex);
      state->wake.wait(lock, [&] { return state->closed || !state->jobs.empty(); });
      if (state->jobs.empty()) return;
      job = std::move(state->jobs.front());
      state->jobs.pop_front();
    }
    try {
      job();
    } catch (const std::exception& e) {
      detail::log(LogLevel::error, "pseud: a password check failed: ", e.what());
    } catch (...) {
      detail::log(LogLevel::error, "pseud: a password check failed");
    }
  }
}

std::size_t check_pool_threads() noexcept {
  const std::size_t cores = std::thread::hardware_concurrency();
  return std::clamp<std::size_t>(cores / 2, 1, 2);
}

std::shared_ptr<CheckPool> shared_check_pool() {
  // Never destroyed, so holders that are static objects can still let go at exit.
  static auto* const mutex = new std::mutex;
  static auto* const current = new std::weak_ptr<CheckPool>;
  std::lock_guard lock(*mutex);
  if (auto pool = current->lock()) return pool;
  auto pool = std::make_shared<CheckPool>(check_pool_threads(), check_pool_queue);
  *current = pool;
  return pool;
}

}  // namespace pseud::security

namespace pseud {

PasswordCheckThreads::PasswordCheckThreads() : pool_(security::shared_check_pool()) {}

bool PasswordCheckThreads::try_post(std::function<void()> check) const {
  return static_cast<security::CheckPool*>(pool_.get())->try_post(std::move(check));
}

}  // namespace pseud
