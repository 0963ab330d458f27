// `pseud relay`: a Relay between a listening server (the --auth side) and an
// upstream server or service (the --upstream-* side).

#include <optional>

#include "cli/commands.hpp"
#include "cli/output.hpp"
#include "cli/peer_options.hpp"
#include "pseud/discovery.hpp"
#include "pseud/relay.hpp"

namespace pseud::cli {

namespace {

// `pseud relay`'s command line.
struct RelayLine {
  std::vector<std::string> words;  // none
  ServerFlags listener;            // who may call the relay
  ClientFlags upstream;            // how the relay calls upstream (--upstream-*)
  std::optional<std::string> listen, forward, service, discovery;
  std::string name = "relay";
  std::string upstream_name = "server";
  std::string mode = "pass-through";
  std::optional<double> ttl, timeout;
};

std::string stats_line(const RelayStats& s) {
  return "{\"event\": \"stopped\", \"forwarded\": " + std::to_string(s.forwarded) + ", \"answered\": " +
         std::to_string(s.answered) + ", \"failed\": " + std::to_string(s.failed) + ", \"accepted\": " +
         std::to_string(s.accepted) + ", \"refused\": " + std::to_string(s.refused) + "}";
}

int run_relay(const RelayLine& line) {
  if (!line.words.empty() || !line.listen || (!line.forward == !line.service)) {
    throw UsageProblem("usage: pseud relay --listen ENDPOINT (--forward ENDPOINT | --service NAME --discovery URL) [options]");
  }
  if (line.service && !line.discovery) throw UsageProblem("--service needs --discovery URL");
  RelayOptions options;
  options.mode = line.mode == "store-and-forward" ? RelayMode::store_and_forward : RelayMode::pass_through;
  if (line.timeout) options.timeout = milliseconds_of(*line.timeout);
  PeerOptions upstream_options = line.upstream.peer_options();
  if (line.ttl) upstream_options.outbox.ttl = milliseconds_of(*line.ttl);
  upstream_options.outbox.overflow = OutboxOverflow::fail;  // a refusal the caller hears
  Server listener(line.name, line.listener.peer_options());
  std::optional<Client> client;
  std::optional<ServiceClient> service;
  std::optional<Relay> relay;
  std::string forward;
  if (const auto& endpoint = line.forward) {
    client.emplace(line.upstream_name, upstream_options);
    client->connect(*endpoint);
    relay.emplace(listener, *client, options);
    forward = *endpoint;
  } else {
    if (options.mode == RelayMode::store_and_forward) {
      throw UsageProblem("--mode store-and-forward needs --forward ENDPOINT (its outbox waits for one server)");
    }
    service.emplace(*line.service, ServiceClientOptions{.peer = upstream_options});
    service->connect_service(make_discovery(*line.discovery));
    relay.emplace(listener, *service, options);
    forward = "service " + *line.service;
  }
  const std::string endpoint = listener.bind(*line.listen);
  print_line("{\"event\": \"ready\", \"endpoint\": " + json_text(endpoint) + ", \"forward\": " + json_text(forward) +
             ", \"mode\": " + json_text(line.mode) + "}");
  wait_for_signal(-1);
  listener.stop();
  const RelayStats stats = relay->stats();
  relay.reset();
  if (client) client->stop(std::chrono::seconds(1));  // what the outbox holds gets a moment to leave
  if (service) service->stop();
  print_line(stats_line(stats));
  return Exit::ok;
}

}  // namespace

Command add_relay(CLI::App& tool) {
  auto line = std::make_shared<RelayLine>();
  CLI::App* app = tool.add_subcommand("relay", "Relays calls to an upstream server or service");
  app->footer("Relays every call its server gets to an upstream server or service; prints a ready line,\n"
              "then on SIGINT or SIGTERM a stopped line with its counts.");
  add_words(*app, line->words, {});
  app->add_option("--listen", line->listen, "where the relay listens")->type_name("ENDPOINT");
  app->add_option("--name", line->name, "the relay's name, which callers address (default relay)");
  app->add_option("--forward", line->forward, "the upstream server")->type_name("ENDPOINT");
  app->add_option("--upstream-name", line->upstream_name, "its name (default server)")->type_name("NAME");
  app->add_option("--service", line->service, "the upstream service (instead of --forward)")->type_name("NAME");
  app->add_option("--discovery", line->discovery, "where its instances are registered")->type_name("URL");
  app->add_option("--mode", line->mode, "pass-through (default) or store-and-forward (answers \"accepted\", "
                                        "sends when upstream is there)")
      ->check(CLI::IsMember({"pass-through", "store-and-forward"}));
  app->add_option("--ttl", line->ttl, "how long store-and-forward keeps a call")->check(seconds_check())
      ->type_name("SECONDS");
  app->add_option("--timeout", line->timeout, "how long a relayed call may take")->check(seconds_check())
      ->type_name("SECONDS");
  line->listener.add_to(*app);
  line->upstream.add_to(*app, "upstream-");
  return {app, &line->words, [line] { return run_relay(*line); }};
}

}  // namespace pseud::cli
