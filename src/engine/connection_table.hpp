#pragma once
// Layer 4 (engine): a server's accepted connections, by descriptor, as the
// socket monitor reports them (ACCEPTED, DISCONNECTED) and as their messages
// arrive. libzmq shows a ROUTER's connections to us only through these
// events and the descriptor each message carries, and a closed connection's
// descriptor number is soon reused: every DISCONNECTED starts a new epoch of
// its number, so what was learnt of one connection is never applied to the
// next one that gets its number.

#include <chrono>
#include <cstdint>
#include <deque>
#include <unordered_map>
#include <vector>

namespace pseud::detail {

class ConnectionTable {
 public:
  using Clock = std::chrono::steady_clock;

  /// Whether take_silent() will be asked: only then are accepts kept in
  /// order (otherwise that queue would only grow).
  void track_silence(bool on) noexcept { track_silence_ = on; }
  /// A connection was accepted on `fd`.
  void accepted(int fd, Clock::time_point now);
  /// The connection on `fd` closed.
  void closed(int fd);
  /// A message arrived through `fd`.
  void spoke(int fd);
  /// DISCONNECTED events seen for `fd` so far: changes when its number changes hands.
  std::uint64_t epoch(int fd) const;
  /// Removes and returns the descriptors accepted before `cutoff` that are
  /// still open and have sent nothing.
  std::vector<int> take_silent(Clock::time_point cutoff);
  /// Connections open now.
  std::size_t size() const noexcept { return open_.size(); }

 private:
  struct Open {
    Clock::time_point accepted;
    std::uint64_t epoch = 0;
    bool spoke = false;
  };
  struct Accept {
    Clock::time_point at;
    int fd;
    std::uint64_t epoch;
  };
  std::unordered_map<int, Open> open_;
  std::unordered_map<int, std::uint64_t> epochs_;  // only numbers that closed at least once
  std::deque<Accept> accept_order_;                // for take_silent, oldest first
  bool track_silence_ = false;
};

}  // namespace pseud::detail
