// fault_peer: a pseud peer in a process of its own, driven line by line, for
// the fault tests that kill and restart a server or run peers in network
// namespaces (through `ip netns exec`).
//
//   fault_peer server [--endpoint E] [--instance ID] [options]
//                                                    (binds E, default tcp://127.0.0.1:*)
//   fault_peer client ENDPOINT [--routing-id ID] [options]
//
// options: --heartbeat noop|liveness, --interval-ms N, --liveness L,
//          --require-heartbeats true|false, --serve-blocking-seconds S
//
// Both serve ping() -> "pong", echo(x) -> x, server_instance() -> the
// instance id ("" without one) and sleep(seconds) -> seconds (blocking;
// writes "sleeping" when it starts, returns early at exit).
// stdout, one line each:
//   server: "endpoint E" once bound;  client: "ready" once a ping got its reply
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
#include <sstream>
#include <string>
#include <string_view>

#include "fault_errors.hpp"
#include "process_options.hpp"
#include "pseud/pseud.hpp"

namespace {

using namespace std::chrono_literals;
using namespace pseud::test;
using Clock = std::chrono::steady_clock;

const ProgramInfo program{
    "fault_peer",
    "usage: fault_peer server [--endpoint E] [--instance ID] [options]\n"
    "       fault_peer client ENDPOINT [--routing-id ID] [options]\n"
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

}  // namespace

int main(int argc, char** argv) {
  if (!guard_process()) return 3;
  if (argc < 2) usage(program, "the first argument must be 'server' or 'client'");
  const std::string role = argv[1];
  if (role != "server" && role != "client") usage(program, "the first argument must be 'server' or 'client'");
  const bool is_client = role == "client";
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
  const ProcessOptions parsed =
      parse_process_options(program, argc, argv, first, [&](std::string_view option, const char* value) {
        if (option == "--endpoint" && !is_client) {
          endpoint = value;
        } else if (option == "--routing-id" && is_client) {
          routing_id = value;
        } else if (option == "--instance" && !is_client) {
          instance = value;
        } else if (option == "--require-heartbeats") {
          require_heartbeats = value;
        } else {
          return false;
        }
        return true;
      });

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
      peer = std::make_unique<pseud::Server>("server", options);
    }
    peer->register_rpc("ping", [] { return std::string("pong"); });
    peer->register_rpc("echo", [](const std::string& text) { return text; });
    peer->register_rpc("server_instance", [instance] { return instance; });
    peer->register_rpc("sleep", sleep_handler(shutdown, parsed.serve_blocking_seconds), {.blocking = true});
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
      write_line("endpoint " + peer->bind(endpoint));
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
    peer->stop();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fault_peer: %s\n", e.what());
    shutdown.request();
    return 2;
  }
  return 0;
}
