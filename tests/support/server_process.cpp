// server_process: a pseud::Server named "server" in a process of its own, for
// tests that must freeze (SIGSTOP) or kill (SIGKILL) a client's server.
//
//   server_process [--heartbeat noop|liveness] [--interval-ms N] [--liveness L]
//                  [--endpoint E] [--serve-blocking-seconds S]
//
// Binds E (default tcp://127.0.0.1:*) and writes the bound endpoint as its
// first stdout line. Serves:
//   ping()           -> "pong"
//   echo(x)          -> x
//   sleep(seconds)   -> seconds; runs on the worker pool (blocking) and writes
//                       "sleeping\n" on stdout when it starts. It sleeps at most
//                       S seconds (default 60) and returns early when the
//                       process is told to exit.
// Then waits until stdin is closed (or a signal ends it). It never lives
// longer than 120 s (alarm), and dies with its parent. Exit status: 0 after
// stdin closed, 1 on a bad command line, 2 when it cannot serve.

#include <cstdio>
#include <exception>
#include <string>
#include <string_view>

#include "process_options.hpp"
#include "pseud/pseud.hpp"

namespace {

using namespace pseud::test;

const ProgramInfo program{
    "server_process",
    "usage: server_process [--heartbeat noop|liveness] [--interval-ms N] [--liveness L]\n"
    "                      [--endpoint E] [--serve-blocking-seconds S]\n"};

}  // namespace

int main(int argc, char** argv) {
  if (!guard_process()) return 3;

  std::string endpoint = "tcp://127.0.0.1:*";
  const ProcessOptions parsed =
      parse_process_options(program, argc, argv, 1, [&endpoint](std::string_view option, const char* value) {
        if (option != "--endpoint") return false;
        endpoint = value;
        return true;
      });

  Shutdown shutdown;
  try {
    pseud::PeerOptions options = peer_options(parsed);
    options.on_peer_gone = [](const pseud::PeerInfo& peer, const std::string& reason) {
      std::fprintf(stderr, "server_process: peer gone (%zu-byte routing id): %s\n", peer.routing_id.size(),
                   reason.c_str());
    };
    pseud::Server server("server", options);
    server.register_rpc("ping", [] { return std::string("pong"); });
    server.register_rpc("echo", echo_handler());
    server.register_rpc("sleep", sleep_handler(shutdown, parsed.serve_blocking_seconds), {.blocking = true});
    write_line(server.bind(endpoint));

    wait_for_stdin_to_close();
    shutdown.request();
    server.stop();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "server_process: %s\n", e.what());
    shutdown.request();
    return 2;
  }
  return 0;
}
