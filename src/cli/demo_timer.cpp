#include "cli/demo_timer.hpp"

#include <string>
#include <utility>

#include "pseud/detail/wire_buffer.hpp"
#include "pseud/errors.hpp"

namespace pseud::cli {

DeferredReplies::DeferredReplies(std::size_t max_pending, std::size_t max_pending_bytes)
    : max_pending_(max_pending), max_pending_bytes_(max_pending_bytes), thread_([this] { run(); }) {}

DeferredReplies::~DeferredReplies() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void DeferredReplies::schedule(ReplyChannel channel, const msgpack::object& value, std::chrono::milliseconds delay) {
  // The value lives in the request's zone, gone when the handler returns: keep a copy.
  pseud::detail::WireBuffer packed;
  msgpack::pack(packed, value);
  const std::size_t bytes = packed.size();
  auto copy = msgpack::unpack(packed.data(), packed.size());
  {
    std::lock_guard lock(mutex_);
    if (pending_.size() >= max_pending_ || pending_bytes_ + bytes > max_pending_bytes_) {
      throw OverloadedError("deferred_echo: " + std::to_string(pending_.size()) + " replies (" +
                            std::to_string(pending_bytes_) + " bytes) already pending; try later");
    }
    pending_bytes_ += bytes;
    pending_.emplace(Clock::now() + delay, Pending{std::move(channel), std::move(copy), bytes});
  }
  wake_.notify_all();
}

void DeferredReplies::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    if (pending_.empty()) {
      wake_.wait(lock);
      continue;
    }
    const auto due = pending_.begin()->first;
    if (Clock::now() < due) {
      wake_.wait_until(lock, due);
      continue;
    }
    auto node = pending_.extract(pending_.begin());
    pending_bytes_ -= node.mapped().bytes;
    lock.unlock();
    node.mapped().channel.reply(node.mapped().value.get());
    lock.lock();
  }
}

}  // namespace pseud::cli
