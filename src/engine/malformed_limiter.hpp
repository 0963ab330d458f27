#pragma once
// Layer 4 (engine): counts malformed messages per connection, by descriptor,
// and says when one passes PeerOptions::malformed_limit in a second. The
// engine cuts that connection (malformed_limit.cpp) and this remembers it was
// cut, so what the offender still had queued is dropped unread. Engine thread
// only. At most one entry per descriptor number.
//
// libzmq hands over what a connection had queued even after it reported the
// connection closed, stamped with the old descriptor number. So a cut is
// remembered after the close, until libzmq reports a new connection on that
// number (or cut_grace passes): meanwhile its routing id on that number is
// dropped, and nothing there counts towards a new cut. From the new
// connection on, the number counts afresh: an offender that reconnects at
// once is cut again after `limit` messages, as before, rather than flooding
// unchecked through the grace.

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
  /// How long a cut is remembered after its connection closed.
  static constexpr std::chrono::seconds cut_grace{1};
  /// How long a cut is remembered if its close is never reported.
  static constexpr std::chrono::seconds cut_lifetime{10};

  /// The connection counted on a descriptor.
  struct Offender {
    std::string routing_id;
    std::uint64_t epoch = 0;  // of the descriptor number when counting began (ConnectionTable::epoch)
  };

  /// `limit`: malformed messages a connection may send within a second (0: no limit).
  explicit MalformedLimiter(std::uint32_t limit) noexcept : limit_(limit) {}

  /// Counts one malformed message from `sender` on `fd`, whose number is in
  /// `epoch`. True when it passes the limit: the connection is to be cut.
  bool count(int fd, std::string_view sender, std::uint64_t epoch, Clock::time_point now);
  /// Who is being counted on `fd` (not cut), if anyone.
  std::optional<Offender> offender(int fd) const;
  /// From now on, what `offender` sends on `fd` is dropped; `closed`: its
  /// connection has closed already, so the grace starts now.
  void mark_cut(int fd, Offender offender, Clock::time_point now, bool closed);
  /// Whether a message from `sender` on `fd` comes from a connection cut
  /// here, and is to be dropped unread.
  bool from_cut_connection(int fd, std::string_view sender, Clock::time_point now);
  /// The connection on `fd` closed (DISCONNECTED).
  void closed(int fd, Clock::time_point now) noexcept;
  /// A new connection has `fd` (ACCEPTED): a closed cut there is over.
  void reopened(int fd) noexcept;
  bool empty() const noexcept { return tallies_.empty(); }

 private:
  struct Tally {
    Offender who;
    Clock::time_point window_start{};
    std::uint32_t count = 0;
    std::optional<Clock::time_point> cut_until;  // set once cut
    bool closed = false;                         // a cut whose connection closed
  };

  /// The tally on `fd`, forgotten first if it is a cut whose time is over.
  Tally* current(int fd, Clock::time_point now);

  std::uint32_t limit_;
  std::unordered_map<int, Tally> tallies_;
};

}  // namespace pseud::detail
