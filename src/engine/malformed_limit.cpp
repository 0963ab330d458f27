// Layer 4 (engine): PeerOptions::malformed_limit. libzmq cannot stop reading
// one connection of a ROUTER socket, so a peer flooding it with hostile frames
// would take the engine's whole time; past the limit its connection is shut
// down under libzmq, which then closes it as if the peer had hung up.

#include <sys/socket.h>
#include <sys/stat.h>

#include "engine/engine.hpp"
#include "engine/engine_util.hpp"

namespace pseud::detail {
namespace {

std::uint64_t inode_of(int fd) {
  struct stat status {};
  return ::fstat(fd, &status) == 0 ? static_cast<std::uint64_t>(status.st_ino) : 0;
}

}  // namespace

void Engine::note_malformed() {
  counters_.malformed_messages.fetch_add(1, std::memory_order_relaxed);
  if (options_.malformed_limit == 0 || current_fd_ < 0) return;
  const auto now = Clock::now();
  auto [it, added] = malformed_by_fd_.try_emplace(current_fd_);
  MalformedTally& tally = it->second;
  if (added) tally.inode = inode_of(current_fd_);
  if (tally.cut) return;
  if (now - tally.window_start >= std::chrono::seconds(1)) {
    tally.window_start = now;
    tally.count = 0;
  }
  if (++tally.count > options_.malformed_limit) cut_connection(tally, frames_[0].to_string_view());  // frame 0: the sender
}

void Engine::cut_connection(MalformedTally& tally, std::string_view routing_id) {
  // The descriptor is libzmq's: make sure it still is the connection counted
  // (a closed one's number can be reused before its DISCONNECTED event is read).
  const std::uint64_t inode = inode_of(current_fd_);
  if (inode == 0 || inode != tally.inode) {
    tally = MalformedTally{inode, Clock::now(), 1, false, {}};
    return;
  }
  if (::shutdown(current_fd_, SHUT_RDWR) != 0) return;
  tally.cut = true;
  tally.routing_id = std::string(routing_id);
  counters_.connections_cut.fetch_add(1, std::memory_order_relaxed);
  log(LogLevel::warning, "pseud: closed the connection of '", printable(routing_id), "': over ",
      options_.malformed_limit, " malformed messages within a second (PeerOptions::malformed_limit)");
}

bool Engine::comes_from_cut_connection(std::string_view sender) {
  auto it = malformed_by_fd_.find(current_fd_);
  if (it == malformed_by_fd_.end() || !it->second.cut) return false;
  if (it->second.routing_id != sender) {
    // Another routing id on a cut descriptor: a new connection got its
    // number. The old one's DISCONNECTED event is queued by now.
    drain_monitor();
    it = malformed_by_fd_.find(current_fd_);
    if (it == malformed_by_fd_.end()) return false;
    if (it->second.routing_id != sender) {
      malformed_by_fd_.erase(it);
      return false;
    }
  }
  counters_.dropped_after_cut.fetch_add(1, std::memory_order_relaxed);
  return true;
}

}  // namespace pseud::detail
