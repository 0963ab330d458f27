// `pseud relay`: a Relay between a listening server (the --auth side) and an
// upstream server or service (the --upstream-* side).

#include <cmath>
#include <optional>

#include "cli/commands.hpp"
#include "cli/output.hpp"
#include "cli/peer_options.hpp"
#include "pseud/discovery.hpp"
#include "pseud/relay.hpp"

namespace pseud::cli {

namespace {

RelayMode mode_option(const CommandLine& line) {
  const std::string mode = line.get_or("mode", "pass-through");
  if (mode == "pass-through") return RelayMode::pass_through;
  if (mode == "store-and-forward") return RelayMode::store_and_forward;
  throw UsageProblem("--mode takes pass-through or store-and-forward, not '" + mode + "'");
}

std::string stats_line(const RelayStats& s) {
  return "{\"event\": \"stopped\", \"forwarded\": " + std::to_string(s.forwarded) + ", \"answered\": " +
         std::to_string(s.answered) + ", \"failed\": " + std::to_string(s.failed) + ", \"accepted\": " +
         std::to_string(s.accepted) + ", \"refused\": " + std::to_string(s.refused) + "}";
}

}  // namespace

int run_relay(const std::vector<std::string>& words) {
  std::vector<std::string> flags = security_flags;
  const auto upstream_flags = prefixed(security_flags, "upstream-");
  flags.insert(flags.end(), upstream_flags.begin(), upstream_flags.end());
  flags.insert(flags.end(), {"listen", "name", "forward", "upstream-name", "upstream-identity", "service", "discovery",
                             "mode", "ttl", "timeout"});
  const CommandLine line(words, flags, {"user", "trust", "permission"});
  if (!line.positionals().empty() || !line.get("listen") || (!line.get("forward") == !line.get("service"))) {
    throw UsageProblem("usage: pseud relay --listen ENDPOINT (--forward ENDPOINT | --service NAME --discovery URL) [options]");
  }
  if (line.get("service") && !line.get("discovery")) throw UsageProblem("--service needs --discovery URL");
  RelayOptions options;
  options.mode = mode_option(line);
  if (const auto seconds = line.seconds("timeout")) {
    options.timeout = std::chrono::milliseconds(static_cast<long>(std::ceil(*seconds * 1000)));
  }
  PeerOptions upstream_options = client_options(line, "upstream-");
  if (const auto ttl = line.seconds("ttl")) {
    upstream_options.outbox.ttl = std::chrono::milliseconds(static_cast<long>(std::ceil(*ttl * 1000)));
  }
  upstream_options.outbox.overflow = OutboxOverflow::fail;  // a refusal the caller hears
  Server listener(line.get_or("name", "relay"), server_options(line));
  std::optional<Client> client;
  std::optional<ServiceClient> service;
  std::optional<Relay> relay;
  std::string forward;
  if (const auto endpoint = line.get("forward")) {
    client.emplace(line.get_or("upstream-name", "server"), upstream_options);
    client->connect(*endpoint);
    relay.emplace(listener, *client, options);
    forward = *endpoint;
  } else {
    if (options.mode == RelayMode::store_and_forward) {
      throw UsageProblem("--mode store-and-forward needs --forward ENDPOINT (its outbox waits for one server)");
    }
    service.emplace(*line.get("service"), ServiceClientOptions{.peer = upstream_options});
    service->connect_service(make_discovery(*line.get("discovery")));
    relay.emplace(listener, *service, options);
    forward = "service " + *line.get("service");
  }
  const std::string endpoint = listener.bind(*line.get("listen"));
  print_line("{\"event\": \"ready\", \"endpoint\": " + json_text(endpoint) + ", \"forward\": " + json_text(forward) +
             ", \"mode\": " + json_text(line.get_or("mode", "pass-through")) + "}");
  wait_for_signal(-1);
  listener.stop();
  const RelayStats stats = relay->stats();
  relay.reset();
  if (client) client->stop(std::chrono::seconds(1));  // what the outbox holds gets a moment to leave
  if (service) service->stop();
  print_line(stats_line(stats));
  return Exit::ok;
}

}  // namespace pseud::cli
