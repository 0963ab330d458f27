// Layer 4 (engine): connections that spoke before they authenticated. A
// backend keeps state for them by routing id (untrusted_curve's challenges
// and login tries); the engine remembers which descriptor each spoke through
// and, when that connection closes (its DISCONNECTED event), tells the
// backend to forget it, as it does for authenticated peers (peer_gone). A
// routing id that speaks again through another connection is a new
// connection: the old one's state is forgotten first, so it starts fresh.
// Bounded: past max_unauthenticated connections, new ones are not tracked
// (the backend's own bounds still hold for them).

#include <sys/stat.h>

#include "engine/engine.hpp"
#include "engine/engine_util.hpp"

namespace pseud::detail {

namespace {

constexpr std::size_t max_unauthenticated = 65536;

std::uint64_t socket_inode(int fd) {
  struct stat status {};
  return ::fstat(fd, &status) == 0 ? static_cast<std::uint64_t>(status.st_ino) : 0;
}

}  // namespace

void Engine::note_unauthenticated(std::string_view routing_id) {
  const int fd = current_fd_;
  if (fd < 0) return;  // inproc: no descriptor, and no disconnect event to match
  if (auto elsewhere = unauthenticated_fd_.find(routing_id);
      elsewhere != unauthenticated_fd_.end() && elsewhere->second != fd) {
    // The routing id spoke through another connection before: that one is
    // gone (a ROUTER routes one connection per id) or no longer reachable.
    const std::string gone(routing_id);
    unauthenticated_by_fd_.erase(elsewhere->second);
    unauthenticated_fd_.erase(elsewhere);
    auth_->forget(gone);
  }
  const std::uint64_t inode = socket_inode(fd);
  auto here = unauthenticated_by_fd_.find(fd);
  if (here != unauthenticated_by_fd_.end()) {
    if (here->second.routing_id == routing_id && here->second.inode == inode) return;  // known
    // The descriptor number now belongs to a new connection, so the old
    // one's DISCONNECTED event is queued by now: take it first.
    drain_monitor();
    here = unauthenticated_by_fd_.find(fd);
    if (here != unauthenticated_by_fd_.end()) {
      const std::string previous = std::move(here->second.routing_id);
      unauthenticated_by_fd_.erase(here);
      if (auto back = unauthenticated_fd_.find(previous); back != unauthenticated_fd_.end() && back->second == fd) {
        unauthenticated_fd_.erase(back);
      }
      auth_->forget(previous);
    }
  }
  if (unauthenticated_by_fd_.size() >= max_unauthenticated) return;
  unauthenticated_by_fd_.emplace(fd, Unauthenticated{std::string(routing_id), inode});
  unauthenticated_fd_.insert_or_assign(std::string(routing_id), fd);
}

void Engine::unauthenticated_gone(int fd) {
  auto it = unauthenticated_by_fd_.find(fd);
  if (it == unauthenticated_by_fd_.end()) return;
  const std::string routing_id = std::move(it->second.routing_id);
  unauthenticated_by_fd_.erase(it);
  if (auto back = unauthenticated_fd_.find(routing_id); back != unauthenticated_fd_.end() && back->second == fd) {
    unauthenticated_fd_.erase(back);
  }
  auth_->forget(routing_id);
}

}  // namespace pseud::detail
