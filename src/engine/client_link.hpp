#pragma once
// Layer 4 (engine): a client's link to its server, told from the socket
// monitor's events: whether it is up, why the last attempt failed, whether
// that failure is final, and which endpoints libzmq gave up reconnecting.
// No sockets: the engine feeds it events and carries out what it says.
// Engine thread only.

#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace pseud::detail {

class ClientLink {
 public:
  using Clock = std::chrono::steady_clock;

  /// How long after a disconnect an endpoint must show libzmq reconnecting
  /// (it does not after some errors, a frame over ZMQ_MAXMSGSIZE among them).
  static constexpr auto reconnect_check_delay = std::chrono::milliseconds(500);

  /// What an event changed, for the engine to act on.
  struct Change {
    enum class Kind {
      none,
      up,      ///< the handshake succeeded: the server is a peer, parked calls may go
      lost,    ///< the last connection closed: the server is gone (reason says why)
      failed,  ///< an attempt failed (reason says why)
    };
    Kind kind = Kind::none;
    bool handshake = false;   ///< failed: the server refuses our security settings, which is final
    bool fail_calls = false;  ///< failed: calls parked for the server fail now
    bool announce = false;    ///< failed: worth a log line
    std::string reason;
  };

  /// `fail_fast`: PeerOptions::fail_fast (calls do not wait for a server that is not there).
  ClientLink(std::string server_name, bool fail_fast) : server_name_(std::move(server_name)), fail_fast_(fail_fast) {}

  /// A monitor event (ZMQ_EVENT_*) for `endpoint`.
  Change on_event(int event, const std::string& endpoint, Clock::time_point now);
  /// connect() was called: earlier failures no longer describe the link.
  void connecting() noexcept { failure_.clear(); }

  /// Why the last attempt failed, if it did and nothing has succeeded since.
  const std::string& failure() const noexcept { return failure_; }
  /// ... and whether that was the security handshake (final: calls stop waiting).
  bool handshake_failed() const noexcept { return handshake_failed_; }
  /// Whether a call to the server not reachable now may still wait for it.
  bool may_still_come() const noexcept { return failure_.empty() || (!fail_fast_ && !handshake_failed_); }

  /// When the next reconnect check is due, if one is.
  std::optional<Clock::time_point> next_check() const noexcept;
  /// Endpoints that showed no sign of reconnecting by `now`: the engine reconnects them by hand.
  std::vector<std::string> take_stalled(Clock::time_point now);
  /// A stalled endpoint the engine could not reconnect yet: check it again later.
  void check_again(const std::string& endpoint, Clock::time_point now) { checks_[endpoint] = now + reconnect_check_delay; }

  /// The text for a failed attempt on `endpoint` (a ZMQ_EVENT_* value).
  std::string reason(const std::string& endpoint, int event) const;

 private:
  const std::string server_name_;
  const bool fail_fast_;
  std::set<std::string> connected_;  // endpoints whose handshake succeeded
  std::string failure_;
  bool handshake_failed_ = false;
  int handshake_drops_ = 0;     // connections closed mid-handshake in a row
  bool just_dropped_ = false;   // the next CONNECT_RETRIED is libzmq's retry after a drop
  std::map<std::string, Clock::time_point> checks_;  // endpoint -> when to reconnect it by hand
};

}  // namespace pseud::detail
