#include "engine/malformed_limiter.hpp"

namespace pseud::detail {

bool MalformedLimiter::count(int fd, std::string_view sender, std::uint64_t epoch, Clock::time_point now) {
  if (limit_ == 0 || fd < 0) return false;
  auto [it, added] = tallies_.try_emplace(fd);
  Tally& tally = it->second;
  if (tally.cut) return false;
  if (added || tally.who.routing_id != sender || tally.who.epoch != epoch) {
    // Another connection than the one counted so far: count afresh.
    tally = Tally{Offender{std::string(sender), epoch}, now, 0, false};
  }
  if (now - tally.window_start >= std::chrono::seconds(1)) {
    tally.window_start = now;
    tally.count = 0;
  }
  return ++tally.count > limit_;
}

std::optional<MalformedLimiter::Offender> MalformedLimiter::offender(int fd) const {
  auto it = tallies_.find(fd);
  if (it == tallies_.end()) return std::nullopt;
  return it->second.who;
}

void MalformedLimiter::mark_cut(int fd, Offender offender) {
  Tally& tally = tallies_[fd];
  tally.who = std::move(offender);
  tally.cut = true;
}

MalformedLimiter::Verdict MalformedLimiter::check(int fd, std::string_view sender) const {
  auto it = tallies_.find(fd);
  if (it == tallies_.end() || !it->second.cut) return Verdict::pass;
  return it->second.who.routing_id == sender ? Verdict::drop : Verdict::unsure;
}

}  // namespace pseud::detail
