#pragma once
// Layer 4 (engine): counts malformed messages per connection, by descriptor,
// and says when one passes PeerOptions::malformed_limit in a second. The
// engine cuts that connection (malformed_limit.cpp) and this remembers it was
// cut, so what the offender still had queued is dropped unread. Engine thread
// only. At most one entry per open descriptor: forget() runs on DISCONNECTED.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace pseud::detail {

class MalformedLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  /// The connection counted on a descriptor.
  struct Offender {
    std::string routing_id;
    std::uint64_t epoch = 0;  // of the descriptor number when counting began (ConnectionTable::epoch)
  };
  enum class Verdict {
    pass,     ///< not from a cut connection
    drop,     ///< from the cut connection: drop it unread
    unsure,   ///< another routing id on a cut descriptor: learn whether it closed, then ask again
  };

  /// `limit`: malformed messages a connection may send within a second (0: no limit).
  explicit MalformedLimiter(std::uint32_t limit) noexcept : limit_(limit) {}

  /// Counts one malformed message from `sender` on `fd`, whose number is in
  /// `epoch`. True when it passes the limit: the connection is to be cut.
  bool count(int fd, std::string_view sender, std::uint64_t epoch, Clock::time_point now);
  /// Who is counted on `fd`, if anyone.
  std::optional<Offender> offender(int fd) const;
  /// From now on, what `offender` sends on `fd` is dropped.
  void mark_cut(int fd, Offender offender);
  /// Whether a message from `sender` on `fd` comes from a connection cut here.
  Verdict check(int fd, std::string_view sender) const;
  /// The descriptor closed: a new connection may get its number.
  void forget(int fd) noexcept { tallies_.erase(fd); }
  bool empty() const noexcept { return tallies_.empty(); }

 private:
  struct Tally {
    Offender who;
    Clock::time_point window_start{};
    std::uint32_t count = 0;
    bool cut = false;
  };

  std::uint32_t limit_;
  std::unordered_map<int, Tally> tallies_;
};

}  // namespace pseud::detail
