// Layer 5 (service): the public ServiceClient over its ServiceCore.

#include "pseud/service_client.hpp"

#include "pseud/errors.hpp"
#include "service/service_core.hpp"

namespace pseud {

namespace {

ServiceClientOptions checked(ServiceClientOptions options) {
  if (!options.peer.instance.empty()) {
    throw UsageError("ServiceClientOptions::peer.instance is for servers; a client presents peer.routing_id");
  }
  if (options.reconnect_min.count() <= 0 || options.reconnect_max < options.reconnect_min) {
    throw UsageError("ServiceClientOptions: reconnect_min must be positive and reconnect_max at least reconnect_min");
  }
  return options;
}

}  // namespace

ServiceClient::ServiceClient(std::string service, ServiceClientOptions options) : service_(std::move(service)) {
  if (service_.empty()) throw UsageError("a ServiceClient needs the name of the service it calls");
  core_ = std::make_shared<detail::ServiceCore>(service_, checked(std::move(options)));
  core_->start();
}

ServiceClient::~ServiceClient() { core_->stop(); }

void ServiceClient::connect(const std::string& endpoint) { core_->connect(endpoint); }

void ServiceClient::connect(const std::vector<std::string>& endpoints) {
  for (const std::string& endpoint : endpoints) core_->connect(endpoint);
}

void ServiceClient::connect_service(std::shared_ptr<Discovery> discovery, std::string version_range) {
  core_->follow(std::move(discovery), std::move(version_range));
}

Registry& ServiceClient::registry() noexcept { return core_->registry(); }

std::vector<InstanceStatus> ServiceClient::instances() const { return core_->instances(); }

std::size_t ServiceClient::wait_for_alive(std::size_t count, std::chrono::milliseconds limit) {
  return core_->wait_for_alive(count, limit);
}

void ServiceClient::stop() { core_->stop(); }

void ServiceClient::submit(detail::OutgoingCall call) { core_->submit(std::move(call)); }

}  // namespace pseud
