// Layer 5 (peer): Peer::stop(grace), in its order: NOT_SERVING everywhere,
// new requests refused, the on_stopping hooks, the accepted requests
// answered (engine: stop_after_draining), the sockets closed.

#include <algorithm>
#include <mutex>

#include "engine/engine.hpp"
#include "peer/health_table.hpp"
#include "peer/stop_sequence.hpp"
#include "pseud/peer.hpp"

namespace pseud {

void Peer::stop(std::chrono::milliseconds grace) {
  detail::refuse_on_engine_thread("stop(grace)",
                                  "call stop() (immediate) there, or stop gracefully from a thread of your own");
  const auto deadline = std::chrono::steady_clock::now() + std::max(grace, std::chrono::milliseconds(0));
  std::lock_guard serial(stop_sequence_->serial());  // a second stop(grace) waits for the first
  if (engine_->stopped()) return;
  health_->stopping();
  engine_->refuse_new_work({std::string(health_function), std::string(introspection_function)});
  stop_sequence_->run_hooks();
  engine_->stop_after_draining(deadline);
}

void Peer::on_stopping(std::function<void()> hook) { stop_sequence_->add_hook(std::move(hook)); }

}  // namespace pseud
