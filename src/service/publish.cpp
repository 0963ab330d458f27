// Layer 5 (service): a server publishing itself in a Discovery, and
// withdrawing when it stops gracefully.

#include "pseud/publish.hpp"

#include <unistd.h>

#include <chrono>
#include <ctime>

#include "pseud/errors.hpp"

namespace pseud {

namespace {

std::string host_name() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return {};
  return name;
}

std::string utc_now() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm parts{};
  ::gmtime_r(&now, &parts);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &parts);
  return text;
}

void check_connectable(const std::string& endpoint) {
  for (const char* wildcard : {"://*", "://0.0.0.0", "://[::]", "://::"}) {
    if (endpoint.find(wildcard) != std::string::npos) {
      throw UsageError("publish: '" + endpoint +
                       "' is where the server listens, not an address a client can connect to: publish the host's "
                       "address (PublishOptions::endpoints)");
    }
  }
}

}  // namespace

std::shared_ptr<Registration> publish(Server& server, Discovery& discovery, PublishOptions options) {
  if (server.instance().empty()) {
    throw UsageError("publish: server '" + server.name() +
                     "' has no instance id; give it one (PeerOptions::instance) so that its instances differ");
  }
  if (options.endpoints.empty()) throw UsageError("publish: PublishOptions::endpoints is empty");
  for (const std::string& endpoint : options.endpoints) check_connectable(endpoint);
  InstanceRecord record;
  record.service = server.name();
  record.instance = server.instance();
  record.routing_id = server.routing_id();
  record.endpoints = std::move(options.endpoints);
  record.version = std::move(options.version);
  record.curve_public_key = std::move(options.curve_public_key);
  record.host = host_name();
  record.pid = ::getpid();
  record.started = utc_now();
  std::shared_ptr<Registration> registration = discovery.register_instance(std::move(record), options.registration);
  // Withdrawn first thing in a graceful stop; the hook does not keep it alive.
  server.on_stopping([weak = std::weak_ptr<Registration>(registration)] {
    if (auto alive = weak.lock()) alive->withdraw();
  });
  return registration;
}

}  // namespace pseud
