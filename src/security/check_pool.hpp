#pragma once
// Security: the threads that run password checks (argon2id). Hashing is slow
// and memory-hungry on purpose (~130 ms and 64 MiB each at the interactive
// cost), so it runs here: never on the ZAP thread (which answers every
// handshake of a context), never on an engine thread, never on a peer's
// blocking-handler pool. The queue is bounded: a check that finds it full is
// refused at once, and the caller refuses the login without hashing.
//
// One pool serves the whole process (shared_check_pool()), so the memory the
// checks take is bounded per process: at most check_pool_threads() checks
// run at a time, that many times the costliest hash's memory in all.

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace pseud::security {

/// Threads of the process's pool: half the cores, at least 1 and at most 2.
/// So hashing never takes every core (the engine and handler threads of users
/// already logged in keep one), and at the interactive cost the checks hold
/// at most 128 MiB (64 MiB on 2 cores).
std::size_t check_pool_threads() noexcept;
/// Checks the process's pool queues beyond those running; more are refused.
inline constexpr std::size_t check_pool_queue = 32;
/// How much nicer than the process the pool's threads run (Linux: per thread).
/// Hashing is throughput work: the engine and handler threads of users
/// already logged in must win the CPU from it, not wait behind it.
inline constexpr int check_pool_niceness = 5;

/// A fixed set of threads with a bounded queue. Thread-safe.
class CheckPool {
 public:
  CheckPool(std::size_t threads, std::size_t queue_limit);
  /// Destroys the queued jobs unrun, waits for the running ones, joins.
  /// (On one of its own threads, when a job let go of the last reference, that
  /// thread is left to finish by itself.)
  ~CheckPool();
  CheckPool(const CheckPool&) = delete;
  CheckPool& operator=(const CheckPool&) = delete;

  /// Queues `job`; false (and `job` is destroyed here, unrun) when the queue is full.
  /// A job that throws is logged and forgotten.
  bool try_post(std::function<void()> job);

  std::size_t threads() const noexcept { return threads_.size(); }
  std::size_t queue_limit() const noexcept { return queue_limit_; }
  /// Jobs waiting for a thread now.
  std::size_t queued() const;

 private:
  // Shared with the threads, so one left to finish by itself still has it.
  struct State {
    std::mutex mutex;
    std::condition_variable wake;
    std::deque<std::function<void()>> jobs;
    bool closed = false;
  };
  static void run(const std::shared_ptr<State>& state);

  const std::size_t queue_limit_;
  std::shared_ptr<State> state_ = std::make_shared<State>();
  std::vector<std::thread> threads_;
};

/// The process's pool (check_pool_threads(), check_pool_queue), made on first
/// use and joined when the last holder lets it go. Thread-safe.
std::shared_ptr<CheckPool> shared_check_pool();

}  // namespace pseud::security
