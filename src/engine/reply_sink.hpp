#pragma once
// Layer 4 (engine): where a ReplyChannel's answer goes. The sink is shared
// with every open channel, which may outlive the engine: while the engine
// runs it hands answers to it (ReplyCommand), afterwards it drops them. It
// also bounds open channels, per caller and in all.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "engine/handler_errors.hpp"
#include "engine/in_flight.hpp"
#include "observe/incoming_span.hpp"
#include "pseud/caller.hpp"
#include "pseud/detail/wire_buffer.hpp"
#include "pseud/registry.hpp"
#include "pseud/reply_channel.hpp"
#include "wire/message.hpp"

namespace pseud::detail {

struct ReplyCommand;

class ReplySink : public std::enable_shared_from_this<ReplySink> {
 public:
  using Deliver = std::function<void(ReplyCommand&&)>;
  ReplySink(Deliver deliver, std::shared_ptr<const HandlerErrors> errors, std::size_t max_per_caller,
            std::size_t max_total)
      : deliver_(std::move(deliver)), errors_(std::move(errors)), max_per_caller_(max_per_caller), max_total_(max_total) {}

  /// A channel for call `id` from `caller` to `route`'s function, holding
  /// `hold` (the request, for a graceful stop) until its answer is sent.
  /// Throws OverloadedError when the caller, or all callers together, hold
  /// too many open channels; `span` is taken only once the channel opened.
  std::shared_ptr<ReplyState> open(std::shared_ptr<const Route> route, const Caller& caller, std::string id,
                                   std::chrono::steady_clock::time_point received, RequestHold hold,
                                   IncomingSpan&& span);
  /// Hands an answer to the engine, or drops it once closed.
  void send(ReplyCommand&& reply);
  /// The engine stops: answers are dropped from now on.
  void close();

  /// Answers dropped because their call was answered already.
  std::uint64_t late_replies() const noexcept { return late_.load(std::memory_order_relaxed); }
  void count_late() noexcept { late_.fetch_add(1, std::memory_order_relaxed); }
  /// Channels open now.
  std::size_t open_channels() const;

 private:
  friend class ReplyState;
  void release(const std::string& routing_id) noexcept;

  mutable std::mutex mutex_;
  Deliver deliver_;  // empty once closed
  const std::shared_ptr<const HandlerErrors> errors_;
  const std::size_t max_per_caller_;
  const std::size_t max_total_;
  std::unordered_map<std::string, std::size_t> open_;  // by caller routing id; only callers with some
  std::size_t total_ = 0;
  std::atomic<std::uint64_t> late_{0};
};

/// One call's answer: given once, by the channel, by the handler's exception,
/// or (unanswered and dropped) as a nack.
class ReplyState {
 public:
  ReplyState(std::shared_ptr<ReplySink> sink, std::shared_ptr<const Route> route, Caller caller, std::string id,
             std::chrono::steady_clock::time_point received, RequestHold hold = {}, IncomingSpan span = {})
      : sink_(std::move(sink)), route_(std::move(route)), caller_(std::move(caller)), id_(std::move(id)),
        received_(received), hold_(std::move(hold)), span_(std::move(span)) {}
  ~ReplyState();
  ReplyState(const ReplyState&) = delete;
  ReplyState& operator=(const ReplyState&) = delete;

  /// Sends this answer unless one was sent; false then (counted late unless `unless_reply_sent`).
  bool finish(wire::MessageType type, WireBuffer&& body, bool unless_reply_sent);
  /// Answers `raised` as the function's contract says (HandlerErrors), unless an answer was sent.
  bool fail(const std::exception_ptr& raised);
  /// The channel's owner dropped it.
  void owner_dropped();
  /// The handler returned (`error`: the ERROR it raised, encoded, or empty).
  void handler_returned(WireBuffer* error);

  bool replied() const;
  const Caller& caller() const noexcept { return caller_; }

 private:
  void send_locked(wire::MessageType type, WireBuffer&& body);  // with mutex_ held, replied_ not yet set

  std::shared_ptr<ReplySink> sink_;
  const std::shared_ptr<const Route> route_;
  const Caller caller_;
  const std::string id_;
  const std::chrono::steady_clock::time_point received_;
  RequestHold hold_;  // goes with the answer, to the engine
  IncomingSpan span_;  // ends with the answer
  mutable std::mutex mutex_;
  bool replied_ = false;
  bool handler_running_ = true;
  bool dropped_ = false;  // while the handler ran
};

/// The ERROR body of a nack: ["Nack", "", ""].
WireBuffer nack_body();

}  // namespace pseud::detail
