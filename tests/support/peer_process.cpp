// peer_process: a pseud::Client in a process of its own, for tests that must
// freeze (SIGSTOP) or kill (SIGKILL) a peer, which a thread cannot stand in for.
//
//   peer_process ENDPOINT [--heartbeat noop|liveness] [--interval-ms N] [--liveness L]
//                         [--routing-id ID] [--serve-blocking-seconds S]
//
// Connects to the server named "server" at ENDPOINT and serves:
//   echo(x)          -> x
//   sleep(seconds)   -> seconds; runs on the worker pool (blocking) and writes
//                       "sleeping\n" on stdout when it starts. It sleeps at most
//                       S seconds (--serve-blocking-seconds, default 60) and
//                       returns early when the process is told to exit.
// Calls the server's `ping` once (so the connection is up and accepted), then
// writes "ready\n" on stdout and waits until stdin is closed (or a signal ends
// it). It never lives longer than 120 s (alarm), and dies with its parent.
// Diagnostics go to stderr. Exit status: 0 after stdin closed, 1 on a bad
// command line, 2 when the connection could not be made.

#include <chrono>
#include <cstdio>
#include <exception>
#include <string>
#include <string_view>

#include "process_options.hpp"
#include "pseud/pseud.hpp"

namespace {

using namespace std::chrono_literals;
using namespace pseud::test;

const ProgramInfo program{
    "peer_process",
    "usage: peer_process ENDPOINT [--heartbeat noop|liveness] [--interval-ms N] [--liveness L]\n"
    "                    [--routing-id ID] [--serve-blocking-seconds S]\n"};

}  // namespace

int main(int argc, char** argv) {
  if (!guard_process()) return 3;  // the parent died before the guard took effect

  if (argc < 2 || argv[1][0] == '-') usage(program, "the first argument must be the server's endpoint");
  const std::string endpoint = argv[1];
  std::string routing_id;
  const ProcessOptions parsed =
      parse_process_options(program, argc, argv, 2, [&routing_id](std::string_view option, const char* value) {
        if (option != "--routing-id") return false;
        routing_id = value;
        return true;
      });

  Shutdown shutdown;
  try {
    pseud::PeerOptions options = peer_options(parsed);
    options.routing_id = routing_id;
    options.on_peer_gone = [](const pseud::PeerInfo& peer, const std::string& reason) {
      std::fprintf(stderr, "peer_process: peer '%s' gone: %s\n", peer.routing_id.c_str(), reason.c_str());
    };
    pseud::Client client("server", options);
    client.register_rpc("echo", echo_handler());
    client.register_rpc("sleep", sleep_handler(shutdown, parsed.serve_blocking_seconds), {.blocking = true});
    client.connect(endpoint);
    try {
      client.call("ping", pseud::CallOptions{.timeout = 5000ms});
    } catch (const std::exception& e) {
      std::fprintf(stderr, "peer_process: ping to 'server' at %s failed: %s\n", endpoint.c_str(), e.what());
      return 2;
    }
    write_line("ready");

    wait_for_stdin_to_close();
    shutdown.request();
    client.stop();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "peer_process: %s\n", e.what());
    shutdown.request();
    return 2;
  }
  return 0;
}
