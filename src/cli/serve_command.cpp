// `pseud serve`: a server offering the demo functions, printing one JSON line
// per event until SIGINT or SIGTERM.

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <thread>

#include "cli/calls.hpp"
#include "cli/commands.hpp"
#include "cli/demo_functions.hpp"
#include "cli/json.hpp"
#include "cli/output.hpp"
#include "cli/peer_options.hpp"
#include "pseud/events.hpp"
#include "pseud/predicates.hpp"
#include "pseud/publish.hpp"

namespace pseud::cli {

namespace {

// One --call PEER:FUNC:JSON_ARRAY, made when PEER joins.
struct PlannedCall {
  std::string peer;
  std::string function;
  std::string arguments_json;
};

PlannedCall parse_planned_call(const std::string& text) {
  const std::string usage = "--call takes PEER:FUNC:JSON_ARRAY, e.g. alice:string.upper:[\"hi\"]";
  const auto colon = text.find(':');
  if (colon == std::string::npos || colon == 0) throw UsageProblem(usage + ", not '" + text + "'");
  CallText call = parse_call_text(text.substr(colon + 1), usage, text);
  return {text.substr(0, colon), std::move(call.function), std::move(call.arguments_json)};
}

void make_planned_call(Server& server, const PeerInfo& peer, const PlannedCall& planned) {
  auto arguments = std::make_shared<msgpack::object_handle>(parse_json(planned.arguments_json));
  const auto& array = arguments->get().via.array;
  // With authentication a server addresses users, never bare routing ids.
  const std::string target = peer.user_id.empty() ? peer.routing_id : peer.user_id;
  server.send_to(target).async_call<msgpack::object_handle>(
      [arguments, planned](Result<msgpack::object_handle> result) {
        const std::string outcome = result.ok() ? result_field(result.get().get()) : error_field(result.error());
        print_line("{\"event\": \"call\", \"peer\": " + json_text(planned.peer) + ", \"func\": " +
                   json_text(planned.function) + ", " + outcome + "}");
      },
      planned.function, Args({array.ptr, array.size}));
}

// `pseud serve`'s command line.
struct ServeLine {
  std::vector<std::string> words;  // ENDPOINT
  ServerFlags server;
  std::string name = "server";
  std::string instance;
  std::optional<std::string> register_at, version, advertise, events_endpoint;
  std::optional<long> ttl;
  double grace = 5;
  std::vector<std::string> calls;
  bool events = false;
  bool allow_metrics = false;
};

// --register ADDRESS: publishes the server (withdrawn first thing in the graceful stop).
std::shared_ptr<Registration> register_server(Server& server, const ServeLine& line, const std::string& bound) {
  if (!line.register_at) return nullptr;
  if (server.instance().empty()) throw UsageProblem("--register needs --instance ID (instances of a service differ by it)");
  const std::string advertised = line.advertise.value_or(bound);
  PublishOptions publish_options;
  publish_options.endpoints = {advertised};
  publish_options.version = line.version.value_or("");
  publish_options.registration.ttl = std::chrono::seconds(line.ttl.value_or(10));
  auto registration = publish(server, *make_discovery(*line.register_at), std::move(publish_options));
  print_line("{\"event\": \"registered\", \"discovery\": " + json_text(*line.register_at) + ", \"routing_id\": " +
             json_text(server.routing_id()) + ", \"endpoint\": " + json_text(advertised) + "}");
  return registration;
}

// The events socket on the host the server listens on (loopback for ipc and inproc).
std::string events_endpoint_beside(const std::string& endpoint) {
  if (!endpoint.starts_with("tcp://")) return "tcp://127.0.0.1:*";
  const auto colon = endpoint.rfind(':');
  const std::string host = endpoint.substr(6, colon - 6);
  if (host == "0.0.0.0" || host == "*" || host == "[::]") {
    throw UsageProblem("--events: the server listens on every address; say where events go with --events-endpoint");
  }
  return "tcp://" + host + ":*";
}

int run_serve(const ServeLine& line) {
  if (line.events_endpoint && !line.events) throw UsageProblem("--events-endpoint goes with --events");
  if (line.words.size() != 1) throw UsageProblem("usage: pseud serve ENDPOINT [options] (see pseud serve --help)");
  std::vector<PlannedCall> planned;
  for (const auto& text : line.calls) planned.push_back(parse_planned_call(text));

  Server* server_ptr = nullptr;  // set before any peer can join: joins need a bound socket
  // A peer may join between bind() and the ready line: its line waits for that one.
  std::atomic<bool> ready_printed{false};
  PeerOptions options = line.server.peer_options();
  if (line.allow_metrics) options.metrics_access = allow_all();  // pseud stats from anywhere
  options.on_peer_joined = [&server_ptr, &ready_printed, planned](const PeerInfo& peer) {
    ready_printed.wait(false);
    print_line("{\"event\": \"joined\", \"peer\": " + json_text(peer.routing_id) + ", \"user\": " +
               json_text(peer.user_id) + "}");
    for (const auto& call : planned) {
      if (call.peer == peer.routing_id || (!peer.user_id.empty() && call.peer == peer.user_id)) {
        make_planned_call(*server_ptr, peer, call);
      }
    }
  };
  options.on_peer_gone = [](const PeerInfo& peer, const std::string& reason) {
    print_line("{\"event\": \"gone\", \"peer\": " + json_text(peer.routing_id) + ", \"user\": " +
               json_text(peer.user_id) + ", \"reason\": " + json_text(reason) + "}");
  };
  options.instance = line.instance;
  Server server(line.name, options);
  server_ptr = &server;
  register_demo_functions(server);
  server.register_rpc("server_instance", [&server] { return server.instance(); },
                      {.doc = "The id of the instance that answers (empty without one): see which one a call reached."});
  register_call_me_back(server, print_line);
  std::optional<EventHub> hub;
  std::string events_text;
  if (line.events) {
    const std::string events_at = line.events_endpoint.value_or(events_endpoint_beside(line.words[0]));
    hub.emplace(server, EventHubOptions{.endpoint = events_at, .accept_emits = true});
    events_text = ", \"events\": " + json_text(hub->endpoint());
  }
  const std::string endpoint = server.bind(line.words[0]);
  print_line("{\"event\": \"ready\", \"endpoint\": " + json_text(endpoint) + ", \"name\": " +
             json_text(server.name()) + ", \"routing_id\": " + json_text(server.routing_id()) + ", \"auth\": " +
             json_text(options.auth.name) + events_text + "}");
  ready_printed.store(true);
  ready_printed.notify_all();
  const auto registration = register_server(server, line, endpoint);
  const double grace = line.grace;
  if (take_signal() == SIGTERM) {
    // A graceful stop (withdrawn, drained, closed); SIGINT meanwhile (an
    // impatient operator's Ctrl-C) leaves at once.
    char grace_text[32];
    std::snprintf(grace_text, sizeof grace_text, "%g", grace);
    print_line(std::string("{\"event\": \"stopping\", \"grace\": ") + grace_text + "}");
    std::thread([] {
      if (take_signal(SIGINT) != SIGINT) return;
      print_line("{\"event\": \"stopped\", \"forced\": true}");
      std::quick_exit(Exit::ok);
    }).detach();
    server.stop(std::chrono::milliseconds(static_cast<long>(grace * 1000)));
  } else {
    server.stop();  // SIGINT: at once
  }
  print_line("{\"event\": \"stopped\"}");
  // Blocking handlers still running (a `sleep` of an hour, say) would hold
  // the Server's destructor: the process leaves without them, their replies
  // unsent. Everything it printed is flushed by print_line.
  std::quick_exit(Exit::ok);
}

}  // namespace

Command add_serve(CLI::App& tool) {
  auto line = std::make_shared<ServeLine>();
  CLI::App* app = tool.add_subcommand("serve", "Serves the demo functions; prints one JSON line per event");
  app->footer("Serves the demo functions and prints one JSON line per event (ready, joined, gone, call,\n"
              "callback, stopping, stopped) until SIGTERM (a graceful stop within --grace) or SIGINT (at once).");
  add_words(*app, line->words, {{"ENDPOINT", "where to listen, e.g. tcp://127.0.0.1:5555 or tcp://127.0.0.1:*"}});
  line->server.add_to(*app);
  app->add_option("--name", line->name, "the server's name, which clients address (default server)");
  add_repeatable(*app, "--call", line->calls, "calls PEER when it joins, repeatable")->type_name("PEER:FUNC:JSON_ARRAY");
  app->add_option("--instance", line->instance, "makes it an instance NAME@ID of a service")->type_name("ID");
  app->add_option("--register", line->register_at, "publishes the instance there until it stops")
      ->type_name("etcd://HOST:PORT");
  app->add_option("--version", line->version, "the version it registers");
  app->add_option("--ttl", line->ttl, "its registration's lease (default 10)")->check(at_least(1))->type_name("SECONDS");
  app->add_option("--advertise", line->advertise, "the endpoint it registers (when it listens on a wildcard address)");
  app->add_option("--grace", line->grace, "how long SIGTERM lets calls in flight finish (default 5)")
      ->check(seconds_check())
      ->type_name("SECONDS");
  app->add_flag("--events", line->events, "runs an event hub beside the server; clients may emit through it")
      ->disable_flag_override();
  app->add_option("--events-endpoint", line->events_endpoint, "where the hub publishes (default: beside ENDPOINT)");
  app->add_flag("--allow-metrics", line->allow_metrics,
                "lets every caller read pseud.metrics (pseud stats); without it no remote caller can")
      ->disable_flag_override();
  return {app, &line->words, [line] { return run_serve(*line); }};
}

}  // namespace pseud::cli
