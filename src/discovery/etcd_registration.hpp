#pragma once
// Layer 7 (discovery): one record published in etcd under a lease that a
// background thread keeps alive, publishing it again when etcd lost it.

#include <chrono>
#include <memory>
#include <string>

#include "discovery/etcd_api.hpp"
#include "pseud/discovery.hpp"

namespace pseud::detail::discovery {

/// Publishes `value` under `key` now (throws EtcdError when that fails),
/// then keeps it published until withdrawn.
std::unique_ptr<Registration> make_etcd_registration(std::shared_ptr<const EtcdApi> api, std::string key,
                                                     std::string value, std::chrono::seconds ttl);

}  // namespace pseud::detail::discovery
