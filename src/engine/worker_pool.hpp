#pragma once
// Layer 4 (engine): threads for handlers registered `blocking`, so a slow
// handler never stalls the engine thread (Python pseud runs one at a time).

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace pseud::detail {

class WorkerPool {
 public:
  /// `name` (at most 15 bytes) names its threads, for top -H, gdb and perf.
  WorkerPool(std::size_t threads, const char* name);
  /// Finishes the running jobs (queued ones are discarded) and joins.
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  /// Queues `job`; returns false when the pool has no threads or is closed.
  bool post(std::function<void()> job);
  /// Discards queued jobs and refuses new ones; running jobs finish.
  void close();
  /// Its threads (0: post() always refuses).
  std::size_t size() const noexcept { return threads_.size(); }

 private:
  void run();

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> jobs_;
  bool closed_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace pseud::detail
