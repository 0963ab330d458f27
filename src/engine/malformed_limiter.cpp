#include "engine/malformed_limiter.hpp"

#include <algorithm>

namespace pseud::detail {

MalformedLimiter::Tally* MalformedLimiter::current(int fd, Clock::time_point now) {
  auto it = tallies_.find(fd);
  if (it == tallies_.end()) return nullptr;
  if (it->second.cut_until && now >= *it->second.cut_until) {
    tallies_.erase(it);
    return nullptr;
  }
  return &it->second;
}

bool MalformedLimiter::count(int fd, std::string_view sender, std::uint64_t epoch, Clock::time_point now) {
  if (limit_ == 0 || fd < 0) return false;
  Tally* tally = current(fd, now);
  if (tally != nullptr && tally->cut_until) return false;  // within a cut's grace: attribution is unsure
  if (tally == nullptr || tally->who.routing_id != sender || tally->who.epoch != epoch) {
    // Another connection than the one counted so far: count afresh.
    tally = &(tallies_[fd] = Tally{Offender{std::string(sender), epoch}, now, 0, std::nullopt, false});
  }
  if (now - tally->window_start >= std::chrono::seconds(1)) {
    tally->window_start = now;
    tally->count = 0;
  }
  return ++tally->count > limit_;
}

std::optional<MalformedLimiter::Offender> MalformedLimiter::offender(int fd) const {
  auto it = tallies_.find(fd);
  if (it == tallies_.end() || it->second.cut_until) return std::nullopt;
  return it->second.who;
}

void MalformedLimiter::mark_cut(int fd, Offender offender, Clock::time_point now, bool closed) {
  Tally& tally = tallies_[fd];
  tally.who = std::move(offender);
  tally.cut_until = now + (closed ? Clock::duration(cut_grace) : Clock::duration(cut_lifetime));
  tally.closed = closed;
}

bool MalformedLimiter::from_cut_connection(int fd, std::string_view sender, Clock::time_point now) {
  const Tally* tally = current(fd, now);
  return tally != nullptr && tally->cut_until && tally->who.routing_id == sender;
}

void MalformedLimiter::closed(int fd, Clock::time_point now) noexcept {
  auto it = tallies_.find(fd);
  if (it == tallies_.end()) return;
  if (!it->second.cut_until) {
    tallies_.erase(it);
    return;
  }
  it->second.cut_until = std::min(*it->second.cut_until, now + Clock::duration(cut_grace));
  it->second.closed = true;
}

void MalformedLimiter::reopened(int fd) noexcept {
  auto it = tallies_.find(fd);
  if (it != tallies_.end() && it->second.cut_until && it->second.closed) tallies_.erase(it);
}

}  // namespace pseud::detail
