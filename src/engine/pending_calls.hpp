#pragma once
// Layer 4 (engine): the calls a peer has made and still waits on, their
// deadlines, and the calls parked until their peer can take them. Engine
// thread only, except size(), which any thread may read.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <queue>
#include <stop_token>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <zmq.hpp>

#include "engine/message_id.hpp"
#include "pseud/detail/outgoing_call.hpp"

namespace pseud::detail {

class Engine;

/// Posted to the engine when a call's stop token fires.
struct CancelRequest {
  Engine* engine;
  MessageId id;
  void operator()() const noexcept;
};

/// One call waiting for its reply.
struct PendingCall {
  using Clock = std::chrono::steady_clock;

  std::string destination;  // as the caller named it
  std::string routing_id;   // where the WORK went: replies must come from there (empty: not resolved yet)
  std::string user;         // ... and the User-Id that connection had (empty without authentication)
  int fd = -1;              // ... and, on a server, its descriptor (-1: any)
  std::string function;
  Clock::time_point deadline;
  Clock::time_point started;
  std::chrono::milliseconds timeout{};
  bool by_deadline = false;  // the caller set a deadline, not a timeout
  ReplyHandler on_reply;
  std::unique_ptr<std::stop_callback<CancelRequest>> cancel;
  std::optional<zmq::message_t> parked_body;  // set while waiting for a route
  std::optional<zmq::message_t> saved_body;   // kept for a re-send after authentication
  bool wait_for_ready = false;
};

class PendingCalls {
 public:
  using Clock = PendingCall::Clock;

  /// How long parked calls wait between two tries.
  static constexpr auto retry_interval = std::chrono::milliseconds(2);

  /// Adds `call` under `id` (a fresh id) and schedules its deadline.
  void add(const MessageId& id, PendingCall call);
  PendingCall* find(const MessageId& id) noexcept;
  /// Removes the call: nullopt when there is none (completed, or never ours).
  /// Its stop callback is gone when this returns.
  std::optional<PendingCall> take(const MessageId& id);

  /// A call whose deadline is at or before `now`, or nullopt. Each due call is
  /// returned once; it stays pending until taken.
  std::optional<MessageId> next_expired(Clock::time_point now);
  /// The earliest deadline still scheduled (possibly of a call since taken).
  std::optional<Clock::time_point> next_deadline() const noexcept;

  /// Ids of the calls `select` picks, in no particular order.
  std::vector<MessageId> select(const std::function<bool(const PendingCall&)>& pick) const;
  /// Any pending call, or nullopt when there is none.
  std::optional<MessageId> any() const noexcept;

  std::size_t size() const noexcept { return count_.load(std::memory_order_relaxed); }
  bool empty() const noexcept { return calls_.empty(); }
  /// Deadlines held, including those of calls already taken (bounded: see take()).
  std::size_t scheduled() const noexcept { return deadlines_.size(); }

  // Parked calls, in the order they were made: retried together, oldest first.
  void park(const MessageId& id, Clock::time_point now);
  bool has_parked() const noexcept { return !parked_.empty(); }
  /// When parked calls are next due for a try; nullopt when none are parked.
  std::optional<Clock::time_point> next_retry() const noexcept;
  /// Hands the parked ids over for a retry; give back those still waiting with unpark_failed().
  std::vector<MessageId> take_parked() noexcept;
  /// Parks `still` again, ahead of calls parked since take_parked(), and schedules the next try.
  void unpark_failed(std::vector<MessageId> still, Clock::time_point now);

 private:
  struct Deadline {
    Clock::time_point at;
    MessageId id;
    bool operator>(const Deadline& other) const noexcept { return at > other.at; }
  };
  void rebuild_deadlines();

  std::unordered_map<MessageId, PendingCall, MessageIdHash> calls_;
  // Deadlines of taken calls stay until due: cheaper than erasing from a
  // heap, and take() rebuilds it when they outnumber the live ones.
  std::priority_queue<Deadline, std::vector<Deadline>, std::greater<>> deadlines_;
  std::vector<MessageId> parked_;
  Clock::time_point next_retry_{};
  std::atomic<std::size_t> count_{0};
};

}  // namespace pseud::detail
