#include "engine/connection_table.hpp"

namespace pseud::detail {

void ConnectionTable::accepted(int fd, Clock::time_point now) {
  const std::uint64_t current = epoch(fd);
  open_.insert_or_assign(fd, Open{now, current, false});
  if (track_silence_) accept_order_.push_back(Accept{now, fd, current});
}

void ConnectionTable::closed(int fd) {
  ++epochs_[fd];
  open_.erase(fd);
}

void ConnectionTable::spoke(int fd) {
  auto it = open_.find(fd);
  if (it != open_.end()) it->second.spoke = true;  // else accepted before the monitor started, or inproc
}

std::uint64_t ConnectionTable::epoch(int fd) const {
  const auto it = epochs_.find(fd);
  return it == epochs_.end() ? 0 : it->second;
}

std::vector<int> ConnectionTable::take_silent(Clock::time_point cutoff) {
  std::vector<int> silent;
  while (!accept_order_.empty() && accept_order_.front().at < cutoff) {
    const Accept first = accept_order_.front();
    accept_order_.pop_front();
    const auto it = open_.find(first.fd);
    // Closed since, or a later connection's: nothing to do for this one.
    if (it == open_.end() || it->second.epoch != first.epoch || it->second.spoke) continue;
    silent.push_back(first.fd);
  }
  return silent;
}

}  // namespace pseud::detail
