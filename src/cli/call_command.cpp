// `pseud call` and `pseud inspect`: a client that calls one function (or
// lists them) and prints one JSON line per call.

#include <algorithm>

#include "cli/calls.hpp"
#include "cli/commands.hpp"
#include "cli/demo_functions.hpp"
#include "cli/json.hpp"
#include "cli/output.hpp"
#include "cli/peer_options.hpp"
#include "cli/signature_text.hpp"
#include "pseud/service_client.hpp"

namespace pseud::cli {

namespace {

// `pseud call`'s command line.
struct CallLine {
  std::vector<std::string> words;  // ENDPOINT FUNC ARG... (FUNC ARG... with --discovery)
  TargetFlags target;
  std::optional<std::string> kwargs, service, discovery;
  std::optional<double> serve, wait_delivered;
  long repeat = 1;
  std::string policy = "round_robin";
  bool notify = false;
};

// Parsed call arguments; the handles own what the views point into.
struct CallArguments {
  std::vector<msgpack::object_handle> handles;
  std::vector<msgpack::object> values;
  msgpack::object_handle kwargs_handle;
  Kwargs kwargs;
};

CallArguments parse_call_arguments(const std::vector<std::string>& texts, const std::optional<std::string>& kwargs) {
  CallArguments parsed;
  for (const auto& text : texts) {
    parsed.handles.push_back(parse_argument(text));
    parsed.values.push_back(parsed.handles.back().get());
  }
  if (kwargs) {
    parsed.kwargs_handle = parse_json(*kwargs);
    const msgpack::object& map = parsed.kwargs_handle.get();
    if (map.type != msgpack::type::MAP) throw UsageProblem("--kwargs takes a JSON object, e.g. '{\"greeting\": \"Hi\"}'");
    for (std::uint32_t i = 0; i < map.via.map.size; ++i) {
      const auto& entry = map.via.map.ptr[i];
      if (entry.key.type != msgpack::type::STR) throw UsageProblem("--kwargs: keyword names must be strings");
      parsed.kwargs.add({entry.key.via.str.ptr, entry.key.via.str.size}, entry.val);
    }
  }
  return parsed;
}

// Calls and prints; returns the exit status of the last failure, or 0.
template <class Caller>
int call_and_print(Caller& client, const std::string& function, const CallArguments& arguments,
                   const CallOptions& options, long repeat) {
  int status = Exit::ok;
  const Args args({arguments.values.data(), arguments.values.size()});
  for (long i = 0; i < repeat; ++i) {
    if (const int failed = call_and_print_line(client, function, args, arguments.kwargs, options)) status = failed;
  }
  return status;
}

// --notify: sends without awaiting replies, then reports in one line what
// was sent, what failed and what never left (the server stayed away).
int notify_and_report(Client& client, const std::string& function, const CallArguments& arguments,
                      const CallLine& line) {
  const Args args({arguments.values.data(), arguments.values.size()});
  long queued = 0;
  for (long i = 0; i < line.repeat; ++i) {
    try {
      if (client.notify(function, args, arguments.kwargs)) ++queued;
    } catch (...) {
      print_line(error_line(std::current_exception()));
      client.stop();
      return exit_status_of(std::current_exception());
    }
  }
  std::optional<bool> delivered;
  if (line.wait_delivered) {
    delivered = client.wait_notifications_delivered(milliseconds_of(*line.wait_delivered));
  } else {
    client.wait_notifications_sent(*call_timeout(line.target.timeout).timeout);
  }
  client.stop(std::chrono::seconds(1));  // what was sent leaves the socket; answers still coming are counted
  const PeerStats stats = client.stats();
  const std::uint64_t unsent = stats.notifications_abandoned + stats.notifications_expired;
  std::string report = "{\"notified\": " + std::to_string(queued) + ", \"sent\": " +
                       std::to_string(stats.notifications_sent) + ", \"failed\": " +
                       std::to_string(stats.notifications_failed) + ", \"unsent\": " + std::to_string(unsent);
  if (delivered) report += std::string(", \"delivered\": ") + (*delivered ? "true" : "false");
  print_line(report + "}");
  if (unsent > 0 || (delivered && !*delivered)) return Exit::unreachable;
  return stats.notifications_failed > 0 ? Exit::remote_error : Exit::ok;
}

std::vector<std::string> split_endpoints(const std::string& text) {
  std::vector<std::string> endpoints;
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto comma = text.find(',', start);
    const std::string endpoint = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (endpoint.empty()) throw UsageProblem("the list of endpoints '" + text + "' holds an empty one");
    endpoints.push_back(endpoint);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return endpoints;
}

Policy policy_of(const std::string& name) {
  if (name == "first_alive") return Policy::first_alive;
  if (name == "least_outstanding") return Policy::least_outstanding;
  return Policy::round_robin;  // the only other name the option accepts
}

// Several instances: a list of endpoints, or a service found through discovery.
int call_service(const CallLine& line, std::vector<std::string> endpoints, std::size_t first_argument) {
  const auto& words = line.words;
  if (words.size() <= first_argument) throw UsageProblem("usage: pseud call ENDPOINT[,ENDPOINT...] FUNC [ARG...]");
  const std::string& function = words[first_argument];
  const CallArguments arguments = parse_call_arguments({words.begin() + first_argument + 1, words.end()}, line.kwargs);
  ServiceClientOptions options{.peer = line.target.client.peer_options(), .policy = policy_of(line.policy)};
  ServiceClient service(line.service.value_or(line.target.server_name), options);
  std::size_t expected = endpoints.size();
  if (line.discovery) {
    const auto discovery = make_discovery(*line.discovery);
    try {
      expected = discovery->lookup(service.service()).size();
    } catch (const DiscoveryError&) {
      print_line(error_line(std::current_exception()));
      return exit_status_of(std::current_exception());
    }
    service.connect_service(discovery);
  } else {
    service.connect(endpoints);
  }
  // Lets every instance finish its handshake (briefly), so that --repeat
  // spreads over all of them rather than over the first one up.
  const CallOptions call_options = call_timeout(line.target.timeout);
  service.wait_for_alive(expected, std::min<std::chrono::milliseconds>(call_options.timeout.value_or(std::chrono::seconds(5)), std::chrono::seconds(1)));
  const int status = call_and_print(service, function, arguments, call_options, line.repeat);
  service.stop();
  return status;
}

int run_call(const CallLine& line) {
  const auto& words = line.words;
  const bool several = words.size() >= 2 && words[0].find(',') != std::string::npos;
  if (line.wait_delivered && !line.notify) throw UsageProblem("--wait-delivered goes with --notify");
  if (line.notify && (line.discovery || line.serve || several)) {
    throw UsageProblem("--notify sends to one server: give one ENDPOINT, without --discovery or --serve");
  }
  if (line.discovery) {
    if (!line.service) throw UsageProblem("--discovery needs --service NAME");
    return call_service(line, {}, 0);
  }
  if (several) return call_service(line, split_endpoints(words[0]), 1);
  if (words.size() < 2) throw UsageProblem("usage: pseud call ENDPOINT FUNC [ARG...] [options] (see pseud call --help)");
  const std::string& endpoint = words[0];
  const std::string& function = words[1];
  const CallArguments arguments = parse_call_arguments({words.begin() + 2, words.end()}, line.kwargs);
  const CallOptions options = call_timeout(line.target.timeout);
  const double serve_seconds = line.serve.value_or(0);
  if (function == "-" && serve_seconds <= 0) throw UsageProblem("FUNC '-' (serve only) needs --serve SECONDS");

  Client client(line.target.server_name, line.target.client.peer_options());
  if (serve_seconds > 0) register_demo_functions(client);
  client.connect(endpoint);
  if (line.notify) return notify_and_report(client, function, arguments, line);
  int status = Exit::ok;
  if (function != "-") status = call_and_print(client, function, arguments, options, line.repeat);
  if (serve_seconds > 0) wait_for_signal(serve_seconds);
  client.stop();
  return status;
}

// `pseud inspect`'s command line.
struct InspectLine {
  std::vector<std::string> words;  // ENDPOINT
  TargetFlags target;
};

int run_inspect(const InspectLine& line) {
  if (line.words.size() != 1) throw UsageProblem("usage: pseud inspect ENDPOINT [options]");
  Client client(line.target.server_name, line.target.client.peer_options());
  client.connect(line.words[0]);
  try {
    auto listing = client.call<msgpack::object_handle>(introspection_function, call_timeout(line.target.timeout));
    const msgpack::object& entries = listing.get();
    if (entries.type != msgpack::type::ARRAY) throw ProtocolError("pseud.inspect did not answer a list");
    for (std::uint32_t i = 0; i < entries.via.array.size; ++i) {
      print_line(to_json(with_signature(entries.via.array.ptr[i]).get()));
    }
    return Exit::ok;
  } catch (...) {
    print_line(error_line(std::current_exception()));
    return exit_status_of(std::current_exception());
  }
}

}  // namespace

Command add_call(CLI::App& tool) {
  auto line = std::make_shared<CallLine>();
  CLI::App* app = tool.add_subcommand("call", "Calls a function; prints one JSON line per call");
  add_words(*app, line->words,
            {{"ENDPOINT", "where the server listens; ENDPOINT,ENDPOINT,... calls instances of a service in turn"},
             {"FUNC", "the function to call ('-' with --serve: none)"},
             {"ARG", "its arguments: JSON where they parse as JSON, else strings", true}});
  line->target.add_to(*app, "seconds to wait for each answer (with --notify: for the server)");
  app->add_option("--kwargs", line->kwargs, "keyword arguments")->type_name("JSON_OBJECT");
  app->add_option("--repeat", line->repeat, "makes the call N times (default 1)")->check(at_least(1))->type_name("N");
  app->add_option("--serve", line->serve, "then stays connected, offering the demo functions")
      ->check(seconds_check())
      ->type_name("SECONDS");
  app->add_option("--service", line->service, "the service to call (with --discovery, instead of ENDPOINT)")
      ->type_name("NAME");
  app->add_option("--discovery", line->discovery, "where its instances are registered")->type_name("etcd://HOST:PORT");
  app->add_option("--policy", line->policy, "how calls spread over instances (default round_robin)")
      ->check(CLI::IsMember({"round_robin", "first_alive", "least_outstanding"}));
  app->add_flag("--notify", line->notify, "sends without awaiting replies (see below)")->disable_flag_override();
  app->add_option("--wait-delivered", line->wait_delivered, "with --notify, also waits for the answers")
      ->check(seconds_check())
      ->type_name("SECONDS");
  app->footer("Calls FUNC and prints one JSON line per call: {\"result\": ...} or {\"error\": {\"name\", "
              "\"message\"}}.\n"
              "Forms: pseud call ENDPOINT FUNC [ARG...]\n"
              "       pseud call ENDPOINT,ENDPOINT... FUNC [ARG...] [--policy POLICY]\n"
              "       pseud call --service NAME --discovery etcd://HOST:PORT FUNC [ARG...] [--policy POLICY]\n"
              "       pseud call ENDPOINT FUNC [ARG...] --notify [--repeat N] [--wait-delivered SECONDS]\n"
              "--notify waits up to --timeout for the server, then prints {\"notified\", \"sent\", \"failed\", "
              "\"unsent\"[, \"delivered\"]};\nexit 2 when some never left.\n"
              "An ARG that starts with '-' (and is not a number) goes after \"--\": pseud call EP echo -- -x");
  return {app, &line->words, [line] { return run_call(*line); }};
}

Command add_inspect(CLI::App& tool) {
  auto line = std::make_shared<InspectLine>();
  CLI::App* app = tool.add_subcommand("inspect", "Lists the functions a server lets this caller see");
  app->footer("Prints one JSON line per function the server lets this caller see, with \"signature\", "
              "its parameters as one line.");
  add_words(*app, line->words, {{"ENDPOINT", "where the server listens"}});
  line->target.add_to(*app);
  return {app, &line->words, [line] { return run_inspect(*line); }};
}

}  // namespace pseud::cli
