#pragma once
/// A server's side of discovery: publish() puts a server in a Discovery as
/// one instance of its service, and takes it out when the server stops
/// gracefully, before its socket closes (Peer::stop with a grace), so that
/// clients following the service stop choosing it while it can still answer.

#include <memory>
#include <string>
#include <vector>

#include "pseud/discovery.hpp"
#include "pseud/peer.hpp"

namespace pseud {

struct PublishOptions {
  /// Where clients reach the server: the addresses they can connect to (not
  /// a wildcard such as tcp://0.0.0.0:5555 or tcp://*:5555). At least one.
  std::vector<std::string> endpoints{};
  /// The service's version, for clients that ask for a range ("1.4.2").
  std::string version{};
  /// The server's CURVE public key (Z85), for clients to trust; empty without CURVE.
  std::string curve_public_key{};
  RegistrationOptions registration{};
};

/// Publishes `server` (which must have PeerOptions::instance) in `discovery`
/// until the returned registration is withdrawn or destroyed, or the server
/// begins a graceful stop. Throws UsageError for a server without an
/// instance or an endpoint clients cannot connect to, and what
/// Discovery::register_instance throws.
std::shared_ptr<Registration> publish(Server& server, Discovery& discovery, PublishOptions options);

}  // namespace pseud
