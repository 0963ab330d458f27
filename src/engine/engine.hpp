#pragma once
// Layer 4 (engine): one thread owning a peer's ROUTER socket, its monitor,
// the pending-call table and the deadline heap. Other threads reach it only
// through its command queue.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <queue>
#include <map>
#include <set>
#include <stop_token>
#include <string>
#include <thread>
#include <unordered_map>
#include <variant>
#include <vector>

#include <zmq.hpp>

#include "engine/command_queue.hpp"
#include "engine/message_id.hpp"
#include "engine/worker_pool.hpp"
#include "pseud/peer.hpp"
#include "wire/bodies.hpp"
#include "wire/frames.hpp"

namespace pseud::detail {

class Engine;

/// Posted to the engine when a call's stop token fires.
struct CancelRequest {
  Engine* engine;
  MessageId id;
  void operator()() const noexcept;
};

struct CallCommand {
  MessageId id;
  OutgoingCall call;
};
struct ReplyCommand {
  std::string routing_id;
  std::string id;
  wire::MessageType type;
  msgpack::sbuffer body;
};
struct CancelCommand {
  MessageId id;
};
struct BindCommand {
  std::string endpoint;
  std::promise<std::string> done;
};
struct ConnectCommand {
  std::string endpoint;
  std::promise<void> done;
};
struct StopCommand {};
using Command = std::variant<CallCommand, ReplyCommand, CancelCommand, BindCommand, ConnectCommand, StopCommand>;

class Engine {
 public:
  using Clock = std::chrono::steady_clock;

  /// `server_name` is the server a client calls by default (empty for a server).
  Engine(Role role, std::string routing_id, std::string server_name, const PeerOptions& options,
         const Registry& registry);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  std::string bind(const std::string& endpoint);
  void connect(const std::string& endpoint);
  void submit(OutgoingCall&& call);
  void cancel(const MessageId& id) noexcept;
  void stop();
  bool stopped() const noexcept { return stop_requested_.load(); }
  bool on_engine_thread() const noexcept { return std::this_thread::get_id() == thread_id_; }
  PeerStats stats() const;

 private:
  struct PendingCall {
    std::string destination;  // as the caller named it
    std::string routing_id;   // where the WORK went: replies must come from there
    std::string function;
    Clock::time_point deadline;
    std::chrono::milliseconds timeout{};
    ReplyHandler on_reply;
    std::unique_ptr<std::stop_callback<CancelRequest>> cancel;
    std::optional<zmq::message_t> parked_body;  // set while waiting for a route
    bool wait_for_ready = false;
  };
  struct Deadline {
    Clock::time_point at;
    MessageId id;
    bool operator>(const Deadline& other) const noexcept { return at > other.at; }
  };
  struct Counters {
    std::atomic<std::uint64_t> calls_sent{0}, replies_received{0}, requests_handled{0}, dropped_replies{0},
        malformed_messages{0}, oversize_messages{0}, unroutable_replies{0};
    std::atomic<std::size_t> pending_calls{0};
  };

  // engine.cpp: lifecycle, loop, outbound
  void run();
  void process(Command& command);
  void start_call(CallCommand& command);
  bool waits_for_route(const PendingCall& call) const;
  std::string unreachable_text(const PendingCall& call) const;
  std::string failure_reason(const std::string& endpoint, int event) const;
  bool try_send_parked(const MessageId& id, PendingCall& call);
  void retry_parked();
  void fire_deadlines();
  long next_timeout_ms() const;
  void complete(const MessageId& id, const msgpack::object* value, std::exception_ptr error);
  void fail_calls_to(std::string_view routing_id, bool only_parked, const std::string& why);
  void shut_down();
  int send_message(std::string_view routing_id, std::string_view id, wire::MessageType type, zmq::message_t& body);
  void send_reply(std::string_view routing_id, std::string_view id, wire::MessageType type, msgpack::sbuffer&& body);
  void send_error(std::string_view routing_id, std::string_view id, std::string_view name, std::string_view message);
  std::string resolve(const std::string& destination) const;
  void drain_monitor();
  void reconnect_stalled_endpoints();

  // inbound.cpp: everything that arrives on the ROUTER socket
  void drain_router();
  bool receive_frames(std::size_t& count, std::size_t& total);
  void handle_frames(std::size_t count, std::size_t total);
  void handle_work(const wire::Envelope& envelope, std::string_view user_id);
  void handle_reply(const wire::Envelope& envelope);
  void run_handler(std::shared_ptr<const Route> route, const wire::WorkBody& work, const Caller& caller,
                   wire::MessageType& type, msgpack::sbuffer& body) const;
  void learn_peer(std::string_view routing_id, std::string_view user_id);

  const Role role_;
  const std::string routing_id_;
  const std::string server_name_;
  const PeerOptions options_;
  const Registry& registry_;
  std::shared_ptr<zmq::context_t> context_;
  zmq::socket_t router_;
  zmq::socket_t monitor_;
  std::string monitor_endpoint_;
  CommandQueue<Command> queue_;

  // Engine-thread state.
  std::unordered_map<MessageId, PendingCall, MessageIdHash> pending_;
  std::priority_queue<Deadline, std::vector<Deadline>, std::greater<>> deadlines_;
  std::vector<MessageId> parked_;
  Clock::time_point next_retry_{};
  std::set<std::string> connected_endpoints_;  // client: endpoints whose handshake succeeded
  std::string route_failure_;                  // client: why the last connection attempt failed, if it did
  // Client: endpoints that disconnected, and when to reconnect them by hand
  // unless libzmq shows it is reconnecting on its own.
  std::map<std::string, Clock::time_point> reconnect_checks_;
  struct TextHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, std::string, TextHash, std::equal_to<>> user_routes_;  // User-Id -> routing id
  std::array<zmq::message_t, 6> frames_;
  zmq::message_t overflow_frame_;
  bool stopping_ = false;

  Counters counters_;
  std::atomic<bool> stop_requested_{false};
  std::once_flag joined_;
  WorkerPool pool_;  // after queue_: its jobs post replies to the queue until joined
  std::thread thread_;
  std::thread::id thread_id_;
};

}  // namespace pseud::detail
