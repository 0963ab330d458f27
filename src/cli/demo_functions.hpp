#pragma once
// The demo functions `pseud serve` and `pseud call --serve` offer, the same
// set Python pseud's examples and our interop tests use.

#include <functional>
#include <string>

#include "pseud/peer.hpp"

namespace pseud::cli {

/// Registers echo, echo_args, add, greet, fail, fail_custom, sleep, blob,
/// whoami, string.upper, string.lower, power (default and "restricted"
/// domains) and admin.only ("restricted" only; the domain requires the
/// "admin" permission).
void register_demo_functions(Peer& peer);

/// Registers call_me_back(func, *args, **kwargs) on a server: it schedules
/// send_to(caller).func(*args, **kwargs) and returns at once; `report` gets
/// one JSON line with the outcome.
void register_call_me_back(Server& server, std::function<void(const std::string& line)> report);

}  // namespace pseud::cli
