// The "liveness" heartbeat backend, for either role. Any message from a peer
// counts as a sign of life; one sweep every interval/2 serves all peers:
//   - a peer we have sent nothing to for `interval` gets a HEARTBEAT (empty
//     id, empty body: what a Python pseud peer accepts and ignores);
//   - a peer silent for `liveness` intervals is gone, if it has shown that it
//     sends heartbeats itself (or `require_heartbeats` is set): a Python peer
//     without a heartbeat backend is never declared gone for being idle;
//   - a peer a HEARTBEAT cannot reach is gone at once.
// So a frozen peer is gone within (liveness + 1/2) x interval.
// Settings: interval_ms (default 1000), liveness (default 3), require_heartbeats.

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "builtin.hpp"

namespace pseud::plugins {

namespace {

using std::chrono::milliseconds;

long positive_setting(const Settings& settings, std::string_view key, long fallback, long minimum) {
  const auto text = settings.get(key);
  if (!text) return fallback;
  std::size_t used = 0;
  long value = 0;
  try {
    value = std::stol(*text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text->size() || value < minimum) {
    throw UsageError("liveness: " + std::string(key) + " must be a whole number >= " + std::to_string(minimum) +
                     ", not '" + *text + "'");
  }
  return value;
}

class Liveness final : public HeartbeatBackend {
 public:
  explicit Liveness(const Settings& settings)
      : interval_(positive_setting(settings, "interval_ms", 1000, 10)),
        liveness_(positive_setting(settings, "liveness", 3, 1)),
        require_heartbeats_(settings.get_or("require_heartbeats", "false") == "true") {}

  std::optional<milliseconds> sweep_interval() const override { return interval_ / 2; }
  std::optional<milliseconds> silence_limit() const override { return interval_ * liveness_; }

  void sweep(HeartbeatHost& host, std::chrono::steady_clock::time_point now) override {
    const auto silence_limit = interval_ * liveness_;
    std::vector<std::pair<std::string, std::string>> gone;
    std::vector<std::string> to_ping;
    // Collect first: declaring a peer gone changes the table being visited.
    host.for_each_peer([&](const PeerState& peer) {
      const auto silent = now - peer.last_heard;
      if ((peer.sends_heartbeats || require_heartbeats_) && silent > silence_limit) {
        gone.emplace_back(peer.routing_id,
                          "no message for " +
                              std::to_string(std::chrono::duration_cast<milliseconds>(silent).count()) + " ms");
      } else if (peer.may_ping && now - peer.last_sent >= interval_) {
        to_ping.push_back(peer.routing_id);
      }
    });
    for (const auto& routing_id : to_ping) {
      if (!host.send_heartbeat(routing_id)) gone.emplace_back(routing_id, "unreachable");
    }
    for (const auto& [routing_id, reason] : gone) host.declare_gone(routing_id, reason);
  }

 private:
  milliseconds interval_;
  long liveness_;
  bool require_heartbeats_;
};

}  // namespace

std::unique_ptr<HeartbeatBackend> make_liveness_heartbeat(PeerRole, const Settings& settings) {
  return std::make_unique<Liveness>(settings);
}

}  // namespace pseud::plugins
