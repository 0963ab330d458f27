#pragma once
// The timer behind the demo function deferred_echo: one thread answers
// ReplyChannels when their time comes, so a deferred reply never costs a
// thread of its own. Bounded in count and in bytes held.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <thread>

#include <msgpack.hpp>

#include "pseud/reply_channel.hpp"

namespace pseud::cli {

class DeferredReplies {
 public:
  static constexpr std::size_t default_max_pending = 1024;
  static constexpr std::size_t default_max_pending_bytes = std::size_t{16} << 20;

  explicit DeferredReplies(std::size_t max_pending = default_max_pending,
                           std::size_t max_pending_bytes = default_max_pending_bytes);
  /// Stops the thread; replies still pending are dropped, so their callers get Nack.
  ~DeferredReplies();
  DeferredReplies(const DeferredReplies&) = delete;
  DeferredReplies& operator=(const DeferredReplies&) = delete;

  /// Answers `channel` with a copy of `value` after `delay`. Throws
  /// pseud::OverloadedError (the channel unanswered) when full.
  void schedule(ReplyChannel channel, const msgpack::object& value, std::chrono::milliseconds delay);

 private:
  struct Pending {
    ReplyChannel channel;
    msgpack::object_handle value;
    std::size_t bytes;
  };
  using Clock = std::chrono::steady_clock;

  void run();

  const std::size_t max_pending_;
  const std::size_t max_pending_bytes_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::multimap<Clock::time_point, Pending> pending_;  // by due time; equal times keep their order
  std::size_t pending_bytes_ = 0;
  bool stopping_ = false;
  std::thread thread_;  // last: starts once the rest is ready
};

}  // namespace pseud::cli
