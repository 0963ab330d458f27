// Layer 4 (engine): PeerOptions::malformed_limit. libzmq cannot stop reading
// one connection of a ROUTER socket, so a peer flooding it with hostile frames
// would take the engine's whole time; past the limit its connection is shut
// down under libzmq, which then closes it as if the peer had hung up.

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "engine/engine.hpp"
#include "engine/engine_util.hpp"

namespace pseud::detail {

void Engine::note_malformed() {
  counters_.malformed_messages.fetch_add(1, std::memory_order_relaxed);
  const std::string_view sender = frames_[0].to_string_view();  // frame 0: the sender
  if (malformed_.count(current_fd_, sender, connections_.epoch(current_fd_), Clock::now())) cut_connection(current_fd_);
}

void Engine::cut_connection(int fd) {
  // The messages counted may have waited in libzmq while their connection
  // closed and its descriptor number went to an innocent newcomer. So: hold
  // the socket now on that number (a duplicate cannot change hands), then
  // make sure the offender still owns it: no DISCONNECTED for the number
  // since counting began (libzmq reports one before it closes a descriptor),
  // and the offender's route still takes a message once libzmq has processed
  // every pending pipe termination (asking for events does that).
  const int held = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (held < 0) return;
  const MalformedLimiter::Offender counted = *malformed_.offender(fd);
  drain_monitor();  // may report the close
  router_touched_ = true;
  (void)router_.get(zmq::sockopt::events);
  const bool still_there = connections_.epoch(fd) == counted.epoch &&
                           send_raw(counted.routing_id, {}, wire::MessageType::heartbeat, {}) == 0;
  if (still_there) ::shutdown(held, SHUT_RDWR);
  ::close(held);
  // Either way, what the offender still has queued on this number is dropped unread.
  malformed_.mark_cut(fd, counted, Clock::now(), !still_there);
  if (!still_there) {
    log(LogLevel::info, "pseud: dropping what '", printable(counted.routing_id),
        "' still had queued: over the malformed limit, and its connection has closed");
    return;
  }
  counters_.connections_cut.fetch_add(1, std::memory_order_relaxed);
  log(LogLevel::warning, "pseud: closed the connection of '", printable(counted.routing_id), "': over ",
      options_.malformed_limit, " malformed messages within a second (PeerOptions::malformed_limit)");
}

bool Engine::comes_from_cut_connection(std::string_view sender) {
  if (!malformed_.from_cut_connection(current_fd_, sender, Clock::now())) return false;
  counters_.dropped_after_cut.fetch_add(1, std::memory_order_relaxed);
  return true;
}

}  // namespace pseud::detail
