// fault_peer: a pseud peer in a process of its own, driven line by line, for
// the fault tests that kill and restart a server or run peers in network
// namespaces (through `ip netns exec`).
//
//   fault_peer server [--endpoint E] [--instance ID] [--service NAME]
//                     [--register DISCOVERY --ttl SECONDS] [options]
//                                                    (binds E, default tcp://127.0.0.1:*)
//   fault_peer client ENDPOINT [--routing-id ID] [options]
//   fault_peer service-client --discovery DISCOVERY [--service NAME]
//                     [--instances K] [--calls N] [options]
//
// options: --heartbeat noop|liveness, --interval-ms N, --liveness L,
//          --require-heartbeats true|false, --serve-blocking-seconds S
//
// A server is named NAME (default "server"); with --register it publishes
// itself (pseud::publish, under a lease of SECONDS, default 10) in the
// discovery at DISCOVERY ("etcd://HOST:PORT") at the endpoint it bound (E
// must then be a connectable address) until it stops.
//
// Server and client serve ping() -> "pong", echo(x) -> x, server_instance()
// -> the instance id ("" without one), sleep(seconds) -> seconds (blocking;
// writes "sleeping" when it starts, returns early at exit) and
// work(tag, seconds) -> the instance id (blocking; writes "ran TAG" when it
// starts, then sleeps like sleep).
//
// A service client follows service NAME (default "server") in DISCOVERY with
// a pseud::ServiceClient (round robin), waits (at most 10 s) until K
// instances (default 1) are live, makes N (default 100) calls of
// server_instance() one after the other, prints what they answered, and exits:
//   "instances K MS"      K instances live MS ms after it started following
//   "served ID COUNT"     for each instance that answered, COUNT calls
//   "failure KIND MESSAGE" for each of the first 10 calls that failed
//   "done CALLS FAILED MS" N calls, FAILED of them failed, in MS ms
// (status 2 when K instances were not live within 10 s).
// stdout, one line each:
//   server: "endpoint E" once bound, then "registered" once published (with --register);
//   client: "ready" once a ping got its reply
//   "joined ID" and "gone ID REASON" as peers come and go (ID printable or hex)
//   "result TAG MS VALUE" or "error TAG MS KIND MESSAGE" for each command below
// stdin, one command a line:
//   call TAG DEST FUNCTION ARG [TIMEOUT_MS]   DEST "-" is a client's server;
//                                             otherwise a routing id (send_to)
//   quit
// It exits when stdin closes or on "quit"; never lives longer than 120 s and
// dies with its parent. Exit status: 0, 1 bad command line, 2 cannot serve.

#include <chrono>
#include <cstdio>
#include <exception>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>

#include "fault_errors.hpp"
#include "process_options.hpp"
#include "pseud/pseud.hpp"

namespace {

using namespace std::chrono_literals;
using namespace pseud::test;
using Clock = std::chrono::steady_clock;

const ProgramInfo program{
    "fault_peer",
    "usage: fault_peer server [--endpoint E] [--instance ID] [--service NAME] [--register DISCOVERY --ttl S] "
    "[options]\n"
    "       fault_peer client ENDPOINT [--routing-id ID] [options]\n"
    "       fault_peer service-client --discovery DISCOVERY [--service NAME] [--instances K] [--calls N] [options]\n"
    "options: --heartbeat noop|liveness --interval-ms N --liveness L --require-heartbeats true|false\n"
    "         --serve-blocking-seconds S\n"};

std::string printable(const std::string& id) {
  bool plain = !id.empty();
  for (const char c : id) plain = plain && c > 0x20 && c < 0x7f;
  if (plain) return id;
  static constexpr char digits[] = "0123456789abcdef";
  std::string out = "0x";
  for (const char c : id) {
    out += digits[static_cast<unsigned char>(c) >> 4];
    out += digits[static_cast<unsigned char>(c) & 0xf];
  }
  return out;
}

std::string one_line(std::string text) {
  for (char& c : text) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return text;
}

// Runs one "call" command asynchronously; its outcome is written when it completes.
void start_call(pseud::Peer& peer, bool is_client, const std::string& line) {
  std::istringstream in(line);
  std::string verb, tag, destination, function, arg;
  long timeout_ms = 5000;
  in >> verb >> tag >> destination >> function >> arg;
  if (!(in >> timeout_ms)) timeout_ms = 5000;
  if (tag.empty() || destination.empty() || function.empty()) {
    write_line("error ? 0 usage malformed command: " + one_line(line));
    return;
  }
  pseud::Target target =
      destination == "-" && is_client ? static_cast<pseud::Client&>(peer).server() : peer.send_to(destination);
  const auto started = Clock::now();
  auto done = [tag, started](std::string outcome) {
    const auto ms = std::chrono::duration<double, std::milli>(Clock::now() - started).count();
    char figure[32];
    std::snprintf(figure, sizeof figure, "%.1f", ms);
    write_line(outcome.substr(0, outcome.find(' ')) + " " + tag + " " + figure + outcome.substr(outcome.find(' ')));
  };
  const pseud::CallOptions options{.timeout = std::chrono::milliseconds(timeout_ms)};
  auto finish = [done](auto result) {
    if (result.ok()) {
      std::ostringstream value;
      value << std::move(result).get();
      done("result " + one_line(value.str()));
    } else {
      done("error " + pseud::faults::error_kind(result.error()) + " " +
           one_line(pseud::faults::error_text(result.error())));
    }
  };
  if (function == "sleep") {
    target.async_call<double>([finish](pseud::Result<double> r) { finish(std::move(r)); }, function,
                              std::stod(arg.empty() ? "0" : arg), options);
  } else {
    target.async_call<std::string>([finish](pseud::Result<std::string> r) { finish(std::move(r)); }, function, arg,
                                   options);
  }
}

// The service-client role: follows a service in a discovery and reports who answered.
int run_service_client(const std::string& service, const std::string& discovery_address, const ProcessOptions& parsed,
                       long wanted_instances, long calls) {
  pseud::ServiceClientOptions options;
  options.peer = peer_options(parsed);
  options.policy = pseud::Policy::round_robin;
  pseud::ServiceClient client(service, options);
  const auto started = Clock::now();
  client.connect_service(pseud::make_discovery(discovery_address));
  auto live = [&client] {
    long n = 0;
    for (const pseud::InstanceStatus& status : client.instances()) n += status.alive ? 1 : 0;
    return n;
  };
  const auto until = started + 10s;
  while (live() < wanted_instances) {
    if (Clock::now() >= until) {
      std::fprintf(stderr, "fault_peer: %ld of %ld instances of '%s' live after 10 s (discovery %s)\n", live(),
                   wanted_instances, service.c_str(), discovery_address.c_str());
      return 2;
    }
    std::this_thread::sleep_for(5ms);  // polling step
  }
  auto ms_since = [](Clock::time_point from) {
    char text[32];
    std::snprintf(text, sizeof text, "%.1f", std::chrono::duration<double, std::milli>(Clock::now() - from).count());
    return std::string(text);
  };
  write_line("instances " + std::to_string(live()) + " " + ms_since(started));
  std::map<std::string, long> served;
  long failed = 0;
  const auto calls_started = Clock::now();
  for (long i = 0; i < calls; ++i) {
    try {
      ++served[client.call<std::string>("server_instance", pseud::CallOptions{.timeout = 5000ms})];
    } catch (const std::exception&) {
      if (++failed <= 10) {
        const auto error = std::current_exception();
        write_line("failure " + pseud::faults::error_kind(error) + " " + one_line(pseud::faults::error_text(error)));
      }
    }
  }
  const std::string took = ms_since(calls_started);
  for (const auto& [id, count] : served) write_line("served " + printable(id) + " " + std::to_string(count));
  write_line("done " + std::to_string(calls) + " " + std::to_string(failed) + " " + took);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (!guard_process()) return 3;
  constexpr const char* roles = "the first argument must be 'server', 'client' or 'service-client'";
  if (argc < 2) usage(program, roles);
  const std::string role = argv[1];
  if (role != "server" && role != "client" && role != "service-client") usage(program, roles);
  const bool is_client = role == "client";
  const bool is_server = role == "server";
  std::string endpoint = "tcp://127.0.0.1:*";
  int first = 2;
  if (is_client) {
    if (argc < 3 || argv[2][0] == '-') usage(program, "a client needs the server's endpoint");
    endpoint = argv[2];
    first = 3;
  }
  std::string routing_id;
  std::string instance;
  std::string require_heartbeats = "false";
  std::string service = "server";
  std::string discovery_address;
  long ttl_seconds = 10;
  long wanted_instances = 1;
  long calls = 100;
  const ProcessOptions parsed =
      parse_process_options(program, argc, argv, first, [&](std::string_view option, const char* value) {
        if (option == "--endpoint" && is_server) {
          endpoint = value;
        } else if (option == "--routing-id" && is_client) {
          routing_id = value;
        } else if (option == "--instance" && is_server) {
          instance = value;
        } else if (option == "--service" && !is_client) {
          service = value;
        } else if (option == "--register" && is_server) {
          discovery_address = value;
        } else if (option == "--ttl" && is_server) {
          ttl_seconds = whole_number(program, value, "--ttl");
        } else if (option == "--discovery" && !is_client && !is_server) {
          discovery_address = value;
        } else if (option == "--instances" && !is_client && !is_server) {
          wanted_instances = whole_number(program, value, "--instances");
        } else if (option == "--calls" && !is_client && !is_server) {
          calls = whole_number(program, value, "--calls");
        } else if (option == "--require-heartbeats") {
          require_heartbeats = value;
        } else {
          return false;
        }
        return true;
      });

  if (role == "service-client") {
    if (discovery_address.empty()) usage(program, "a service client needs --discovery");
    try {
      return run_service_client(service, discovery_address, parsed, wanted_instances, calls);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "fault_peer: %s\n", e.what());
      return 2;
    }
  }

  Shutdown shutdown;
  try {
    pseud::PeerOptions options = peer_options(parsed);
    if (parsed.heartbeat == "liveness") options.heartbeat.settings.add("require_heartbeats", require_heartbeats);
    options.routing_id = routing_id;
    options.instance = instance;
    options.on_peer_joined = [](const pseud::PeerInfo& peer) { write_line("joined " + printable(peer.routing_id)); };
    options.on_peer_gone = [](const pseud::PeerInfo& peer, const std::string& reason) {
      write_line("gone " + printable(peer.routing_id) + " " + one_line(reason));
    };
    std::unique_ptr<pseud::Peer> peer;
    if (is_client) {
      peer = std::make_unique<pseud::Client>("server", options);
    } else {
      peer = std::make_unique<pseud::Server>(service, options);
    }
    peer->register_rpc("ping", [] { return std::string("pong"); });
    peer->register_rpc("echo", [](const std::string& text) { return text; });
    peer->register_rpc("server_instance", [instance] { return instance; });
    peer->register_rpc("sleep", sleep_handler(shutdown, parsed.serve_blocking_seconds), {.blocking = true});
    peer->register_rpc(
        "work",
        [instance, sleep = sleep_handler(shutdown, parsed.serve_blocking_seconds)](const std::string& tag,
                                                                                   double seconds) {
          write_line("ran " + tag);
          if (seconds > 0) sleep(seconds);
          return instance;
        },
        {.blocking = true});
    std::shared_ptr<pseud::Discovery> discovery;
    std::shared_ptr<pseud::Registration> registration;
    if (is_client) {
      auto& client = static_cast<pseud::Client&>(*peer);
      client.connect(endpoint);
      try {
        client.call<std::string>("ping", pseud::CallOptions{.timeout = 10000ms, .wait_for_ready = true});
      } catch (const std::exception& e) {
        std::fprintf(stderr, "fault_peer: ping to 'server' at %s failed: %s\n", endpoint.c_str(), e.what());
        return 2;
      }
      write_line("ready");
    } else {
      const std::string bound = peer->bind(endpoint);
      write_line("endpoint " + bound);
      if (!discovery_address.empty()) {
        discovery = pseud::make_discovery(discovery_address);
        registration = pseud::publish(static_cast<pseud::Server&>(*peer), *discovery,
                                      {.endpoints = {bound}, .registration = {std::chrono::seconds(ttl_seconds)}});
        write_line("registered");
      }
    }

    std::string line;
    while (std::getline(std::cin, line)) {
      if (line == "quit") break;
      if (line.rfind("call ", 0) == 0) {
        try {
          start_call(*peer, is_client, line);
        } catch (const std::exception& e) {
          write_line("error ? 0 usage " + one_line(e.what()));
        }
      } else if (!line.empty()) {
        write_line("error ? 0 usage unknown command: " + one_line(line));
      }
    }
    shutdown.request();
    if (registration) registration->withdraw();
    peer->stop();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fault_peer: %s\n", e.what());
    shutdown.request();
    return 2;
  }
  return 0;
}
