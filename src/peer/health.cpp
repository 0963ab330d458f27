// Layer 5 (peer): pseud.health, answered by every peer, and the table behind
// it (health_table.hpp).

#include "peer/health_table.hpp"
#include "pseud/peer.hpp"

namespace pseud {

namespace {

std::string unknown_service(std::string_view service) {
  return "no service '" + std::string(service) +
         "' here: pseud.health knows '' (the peer as a whole), the peer's own name and the services declared with "
         "set_health";
}

}  // namespace

void Peer::register_health() {
  health_ = std::make_unique<detail::HealthTable>();
  health_->add_own_name(routing_id_);
  registry_.register_rpc(
      std::string(health_function),
      [this](const std::string& service) -> std::string {
        const auto serving = health_->serving(service);
        if (!serving) throw ServiceNotFoundError(unknown_service(service));
        return std::string(*serving ? health_serving : health_not_serving);
      },
      {.params = {param("service", std::string())},
       .doc = "Says whether service ('': this peer as a whole) is SERVING or NOT_SERVING.",
       .raises = {raises<ServiceNotFoundError>()}});
}

void Peer::answer_health_as(std::string name) { health_->add_own_name(std::move(name)); }

void Peer::set_health(std::string service, bool serving) { health_->set(service, serving); }

bool Peer::health(std::string_view service) const {
  const auto serving = health_->serving(service);
  if (!serving) throw ServiceNotFoundError(unknown_service(service));
  return *serving;
}

}  // namespace pseud
