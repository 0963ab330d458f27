#pragma once
// What every simulated client does, whatever carries its bytes: the call
// cycle of a pseud::Client and its liveness heartbeats (src/engine/,
// plugins/heartbeat/liveness.cpp), for many clients in one thread.
//   - WORK [ "", "v1", 16-byte id, 03, ["echo", [payload], {}] ] to the server
//     (the body packed by pseud++'s own pack_call);
//   - every reply must be OK [ "", "v1", that id, 01, payload ];
//   - with liveness (pseud's defaults, H = 1 s, L = 3): HEARTBEAT
//     [ "", "v1", "", 06, "" ] whenever nothing was sent for H, checked every
//     H/2; the server counts as gone once it has sent heartbeats itself and
//     then stays silent for L x H.
// Frames here are what travels on the wire: without the routing-id frame a
// ROUTER socket adds locally. A transport (zmq_fleet.cpp, zmtp_fleet.cpp)
// opens the connections, moves the frames, and waits for readiness.

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fleet.hpp"

namespace pseud::load {

class SimCore : public Fleet {
 public:
  explicit SimCore(const FleetOptions& options);

  ConnectReport connect_all(std::int64_t deadline_ns) override;
  void idle_until_readable(int fd, std::int64_t deadline_ns) override;
  LoadReport load(std::int64_t start_ns, std::int64_t end_ns, std::int64_t drain_ns) override;
  FleetCounters counters() const override { return counters_; }

 protected:
  /// Creates client `index` and starts connecting it; its first call goes through first_call().
  virtual void open(std::uint32_t index) = 0;
  /// Sends one message (wire frames: "", "v1", id, type, body) from client `index`; false when it cannot.
  virtual bool transmit(std::uint32_t index, char type, std::string_view id, std::string_view body) = 0;
  /// Waits up to `timeout_ms` for readiness and handles what is ready (calling
  /// on_message()); true when `watch_fd` (if >= 0, registered by watch()) is readable.
  virtual bool pump(int timeout_ms) = 0;
  /// Adds (or with -1 removes) a descriptor pump() reports on.
  virtual void watch(int fd, bool add) = 0;
  /// Where the clients whose first call is unanswered are stuck (for the error text).
  virtual std::string stalled() const { return {}; }

  /// Client `index` may send now: its first call.
  void first_call(std::uint32_t index) { send_work(index); }
  /// A complete message for client `index` (wire frames, at most `frames.size()` of them).
  void on_message(std::uint32_t index, std::span<const std::string_view> frames);
  /// Client `index` got something wrong (counted as an error).
  void fail(std::uint32_t index, const std::string& why);
  /// Client `index` lost its connection for good (an error; it makes no more calls).
  void lost(std::uint32_t index, const std::string& why) {
    peers_[index].gone = true;
    fail(index, why);
  }

  std::size_t count() const noexcept { return peers_.size(); }
  std::uint32_t global(std::uint32_t index) const { return static_cast<std::uint32_t>(options_.first + index); }

  FleetOptions options_;

 private:
  enum class Phase { connect, idle, load, drain };
  struct Peer {
    std::uint64_t sequence = 0;  // of the call in flight, or of the last one
    std::int64_t sent_ns = 0;    // when the call in flight left; 0: none in flight
    std::int64_t last_sent_ns = 0;
    std::int64_t last_heard_ns = 0;
    bool first_done = false;
    bool server_heartbeats = false;
    bool gone = false;  // its connection failed
  };

  bool send(std::uint32_t index, char type, std::string_view id, std::string_view body);
  void send_work(std::uint32_t index);
  void note_error(const std::string& why);
  void sweep(std::int64_t now);
  // pump() until `deadline_ns`, sweeping on time; stops early when `done()` holds.
  template <class Done>
  bool run_until(std::int64_t deadline_ns, Done&& done);

  std::string work_body_;
  std::string ok_body_;
  std::vector<Peer> peers_;
  Phase phase_ = Phase::idle;
  std::int64_t window_start_ = 0;
  std::int64_t window_end_ = 0;
  std::int64_t next_sweep_;
  std::size_t in_flight_ = 0;
  std::size_t first_pending_ = 0;
  ConnectReport connect_;
  LoadReport load_;
  FleetCounters counters_;
};

}  // namespace pseud::load
