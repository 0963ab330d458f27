// The "noop" heartbeat backend: peers are gone only when their connection
// closes; a frozen peer is never detected.

#include "builtin.hpp"

namespace pseud::plugins {

namespace {

class NoopHeartbeat final : public HeartbeatBackend {};

}  // namespace

std::unique_ptr<HeartbeatBackend> make_noop_heartbeat(PeerRole, const Settings&) {
  return std::make_unique<NoopHeartbeat>();
}

}  // namespace pseud::plugins
