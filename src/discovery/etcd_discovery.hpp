#pragma once
// Layer 7 (discovery): the etcd backend (etcd v3's JSON gateway over HTTP).

#include <memory>
#include <string>

#include "pseud/discovery.hpp"

namespace pseud::detail::discovery {

/// Records under /pseud/services/<service>/<instance> at etcd HOST:PORT.
/// Connects lazily: nothing is sent before the first call.
std::shared_ptr<Discovery> make_etcd_discovery(std::string host, int port);

}  // namespace pseud::detail::discovery
