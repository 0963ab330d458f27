// `pseud call` and `pseud inspect`: a client that calls one function (or
// lists them) and prints one JSON line per call.

#include <algorithm>
#include <cmath>

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

std::vector<std::string> client_flags() {
  std::vector<std::string> flags = security_flags;
  flags.insert(flags.end(),
               {"kwargs", "server-name", "timeout", "identity", "serve", "repeat", "service", "discovery", "policy",
                "wait-delivered"});
  return flags;
}

const std::vector<std::string> client_switches = {"notify"};

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
int notify_and_report(Client& client, const std::string& function, const CallArguments& arguments, long repeat,
                      const CommandLine& line) {
  const Args args({arguments.values.data(), arguments.values.size()});
  long queued = 0;
  for (long i = 0; i < repeat; ++i) {
    try {
      if (client.notify(function, args, arguments.kwargs)) ++queued;
    } catch (...) {
      print_line(error_line(std::current_exception()));
      client.stop();
      return exit_status_of(std::current_exception());
    }
  }
  std::optional<bool> delivered;
  if (const auto wait = line.seconds("wait-delivered")) {
    delivered = client.wait_notifications_delivered(std::chrono::milliseconds(static_cast<long>(std::ceil(*wait * 1000))));
  } else {
    client.wait_notifications_sent(*timeout_option(line).timeout);
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

Policy policy_option(const CommandLine& line) {
  const std::string name = line.get_or("policy", "round_robin");
  if (name == "round_robin") return Policy::round_robin;
  if (name == "first_alive") return Policy::first_alive;
  if (name == "least_outstanding") return Policy::least_outstanding;
  throw UsageProblem("--policy takes round_robin, first_alive or least_outstanding, not '" + name + "'");
}

// Several instances: a list of endpoints, or a service found through discovery.
int call_service(const CommandLine& line, std::vector<std::string> endpoints, std::size_t first_argument) {
  const auto& words = line.positionals();
  if (words.size() <= first_argument) throw UsageProblem("usage: pseud call ENDPOINT[,ENDPOINT...] FUNC [ARG...]");
  const std::string& function = words[first_argument];
  const CallArguments arguments = parse_call_arguments({words.begin() + first_argument + 1, words.end()},
                                                      line.get("kwargs"));
  ServiceClientOptions options{.peer = client_options(line), .policy = policy_option(line)};
  ServiceClient service(line.get_or("service", line.get_or("server-name", "server")), options);
  std::size_t expected = endpoints.size();
  if (const auto address = line.get("discovery")) {
    const auto discovery = make_discovery(*address);
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
  const CallOptions call_options = timeout_option(line);
  service.wait_for_alive(expected, std::min<std::chrono::milliseconds>(call_options.timeout.value_or(std::chrono::seconds(5)), std::chrono::seconds(1)));
  const int status = call_and_print(service, function, arguments, call_options,
                                    line.integer("repeat", 1).value_or(1));
  service.stop();
  return status;
}

}  // namespace

int run_call(const std::vector<std::string>& words) {
  const CommandLine line(words, client_flags(), {}, client_switches);
  const bool notify = line.has("notify");
  if (line.has("wait-delivered") && !notify) throw UsageProblem("--wait-delivered goes with --notify");
  if (notify && (line.has("discovery") || line.has("serve") ||
                 (!line.positionals().empty() && line.positionals()[0].find(',') != std::string::npos))) {
    throw UsageProblem("--notify sends to one server: give one ENDPOINT, without --discovery or --serve");
  }
  if (line.get("discovery")) {
    if (!line.get("service")) throw UsageProblem("--discovery needs --service NAME");
    return call_service(line, {}, 0);
  }
  if (line.positionals().size() >= 2 && line.positionals()[0].find(',') != std::string::npos) {
    return call_service(line, split_endpoints(line.positionals()[0]), 1);
  }
  if (line.positionals().size() < 2) throw UsageProblem("usage: pseud call ENDPOINT FUNC [ARG...] [options]");
  const std::string& endpoint = line.positionals()[0];
  const std::string& function = line.positionals()[1];
  const CallArguments arguments = parse_call_arguments({line.positionals().begin() + 2, line.positionals().end()},
                                                      line.get("kwargs"));
  const CallOptions options = timeout_option(line);
  const long repeat = line.integer("repeat", 1).value_or(1);
  const double serve_seconds = line.seconds("serve").value_or(0);
  if (function == "-" && serve_seconds <= 0) throw UsageProblem("FUNC '-' (serve only) needs --serve SECONDS");

  Client client(line.get_or("server-name", "server"), client_options(line));
  if (serve_seconds > 0) register_demo_functions(client);
  client.connect(endpoint);
  if (notify) return notify_and_report(client, function, arguments, repeat, line);
  int status = Exit::ok;
  if (function != "-") status = call_and_print(client, function, arguments, options, repeat);
  if (serve_seconds > 0) wait_for_signal(serve_seconds);
  client.stop();
  return status;
}

int run_inspect(const std::vector<std::string>& words) {
  std::vector<std::string> flags = security_flags;
  flags.insert(flags.end(), {"server-name", "timeout", "identity"});
  const CommandLine line(words, flags);
  if (line.positionals().size() != 1) throw UsageProblem("usage: pseud inspect ENDPOINT [options]");
  Client client(line.get_or("server-name", "server"), client_options(line));
  client.connect(line.positionals()[0]);
  try {
    auto listing = client.call<msgpack::object_handle>(introspection_function, timeout_option(line));
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

}  // namespace pseud::cli
