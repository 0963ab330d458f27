// Layer 4 (engine): telling the auth backend to forget connections that
// spoke before they authenticated, once they close (UnauthenticatedTable).

#include <sys/stat.h>

#include "engine/engine.hpp"
#include "engine/engine_util.hpp"

namespace pseud::detail {

namespace {

std::uint64_t socket_inode(int fd) {
  struct stat status {};
  return ::fstat(fd, &status) == 0 ? static_cast<std::uint64_t>(status.st_ino) : 0;
}

}  // namespace

void Engine::note_unauthenticated(std::string_view routing_id) {
  const int fd = current_fd_;
  if (fd < 0) return;  // inproc: no descriptor, and no disconnect event to match
  if (auto gone = unauthenticated_.moved(routing_id, fd)) auth_->forget(*gone);
  const std::uint64_t inode = socket_inode(fd);
  const auto seen = unauthenticated_.seen(fd, routing_id, inode);
  if (seen == UnauthenticatedTable::Seen::known) return;
  if (seen == UnauthenticatedTable::Seen::reused) {
    // The descriptor number now belongs to a new connection, so the old
    // one's DISCONNECTED event is queued by now: take it first.
    drain_monitor();
    if (auto previous = unauthenticated_.remove(fd)) auth_->forget(*previous);
  }
  unauthenticated_.add(fd, routing_id, inode);
}

void Engine::unauthenticated_gone(int fd) {
  if (auto routing_id = unauthenticated_.remove(fd)) auth_->forget(*routing_id);
}

}  // namespace pseud::detail
