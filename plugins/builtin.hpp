#pragma once
// Layer 6 (plugins): factories of the built-in backends, registered by name
// when the backend registry is first used.

#include <memory>

#include "pseud/auth.hpp"
#include "pseud/heartbeat.hpp"

namespace pseud::plugins {

std::unique_ptr<AuthBackend> make_noop_auth(PeerRole role, const Settings& settings);
std::unique_ptr<AuthBackend> make_plain_auth(PeerRole role, const Settings& settings);
std::unique_ptr<AuthBackend> make_trusted_curve_auth(PeerRole role, const Settings& settings);
std::unique_ptr<AuthBackend> make_untrusted_curve_auth(PeerRole role, const Settings& settings);

std::unique_ptr<HeartbeatBackend> make_noop_heartbeat(PeerRole role, const Settings& settings);
std::unique_ptr<HeartbeatBackend> make_liveness_heartbeat(PeerRole role, const Settings& settings);

}  // namespace pseud::plugins
