#include "engine/worker_pool.hpp"

#include <pthread.h>

namespace pseud::detail {

WorkerPool::WorkerPool(std::size_t threads, const char* name) {
  threads_.reserve(threads);
  for (std::size_t i = 0; i < threads; ++i) {
    threads_.emplace_back([this, name] {
      ::pthread_setname_np(::pthread_self(), name);
      run();
    });
  }
}

WorkerPool::~WorkerPool() {
  close();
  for (auto& thread : threads_) thread.join();
}

bool WorkerPool::post(std::function<void()> job) {
  {
    std::lock_guard lock(mutex_);
    if (closed_ || threads_.empty()) return false;
    jobs_.push_back(std::move(job));
  }
  wake_.notify_one();
  return true;
}

void WorkerPool::close() {
  std::deque<std::function<void()>> discarded;
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
    discarded.swap(jobs_);
  }
  wake_.notify_all();
}

void WorkerPool::run() {
  while (true) {
    std::function<void()> job;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return closed_ || !jobs_.empty(); });
      if (jobs_.empty()) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    job();
  }
}

}  // namespace pseud::detail
