// pseud-load server: the server under test in a process of its own, so that
// its VmRSS and CPU time are its alone.
//
//   pseud-load server --impl pseud|floor --heartbeat liveness|noop [--curve]
//       [--backlog N] --parent PID [--limit-s S]
//
// With --curve, stdin starts with "keys N\n" and N 64-byte pairs: the
// server's own pair, then one per client (only the public half is used).
// Writes "ready endpoint=E pid=P", then answers stdin lines:
//   stats              -> stats rss_kib=.. cpu_ns=.. fds=.. joined=.. gone=.. connected=.. handled=..
//                               malformed=.. dropped=.. heartbeats=.. threads=NAME:NS,...
//   wait-peers N MS    -> peers reached=1|0 ms=..   (joined - gone == N, waiting at most MS)
//   quit (or EOF)      -> stops the server (closing every connection), writes "bye", exits 0
// Exit status 2 when it cannot serve or the command line is bad.

#include <unistd.h>

#include <cstdio>
#include <exception>

#include "args.hpp"
#include "child.hpp"
#include "clock.hpp"
#include "line_io.hpp"
#include "load_server.hpp"
#include "proc_stats.hpp"
#include "roles.hpp"

namespace pseud::load {

namespace {

std::string stats_line(LoadServer& server) {
  const ServerStats s = server.stats();
  const pid_t self = ::getpid();
  return "stats rss_kib=" + std::to_string(rss_kib(self).value_or(-1)) +
         " cpu_ns=" + std::to_string(cpu_ns(self).value_or(-1)) + " fds=" + std::to_string(open_fds(self).value_or(-1)) +
         " joined=" + std::to_string(s.joined) + " gone=" + std::to_string(s.gone) + " gone_silent=" + std::to_string(s.gone_silent) +
         " connected=" + std::to_string(s.connected) + " handled=" + std::to_string(s.handled) +
         " malformed=" + std::to_string(s.malformed) + " dropped=" + std::to_string(s.dropped) +
         " heartbeats=" + std::to_string(s.heartbeats) + " threads=" + thread_cpu(self);
}

}  // namespace

int server_role(int argc, char** argv) {
  std::unique_ptr<LoadServer> server;
  LineReader control(STDIN_FILENO);
  try {
    const Args args(argc, argv, 0);
    args.only({"impl", "heartbeat", "curve", "backlog", "parent", "limit-s"});
    if (!guard_child_process(static_cast<pid_t>(args.number("parent", 0)),
                             static_cast<unsigned>(args.number("limit-s", 300)))) {
      return 2;
    }
    ServerOptions options;
    options.liveness = args.text("heartbeat", "noop") == "liveness";
    options.backlog = static_cast<std::size_t>(args.number("backlog", 0));
    if (args.has("curve")) {
      const auto header = control.line(now_ns() + ms_to_ns(30'000));
      if (!header || header->rfind("keys ", 0) != 0) throw std::runtime_error("expected 'keys N' on stdin");
      const auto n = static_cast<std::size_t>(std::stoull(header->substr(5)));
      const auto blob = control.bytes(n * pair_bytes, now_ns() + ms_to_ns(30'000));
      if (!blob || n < 2) throw std::runtime_error("expected the server's key pair and the clients' on stdin");
      auto pairs = decode_pairs(*blob);
      options.server_keys = pairs[0];
      for (std::size_t i = 1; i < pairs.size(); ++i) options.client_public.push_back(pairs[i].public_key);
    }
    const std::string impl = args.text("impl", "pseud");
    if (impl == "pseud") {
      server = make_pseud_server(options);
    } else if (impl == "floor") {
      server = make_floor_server(options);
    } else {
      throw std::invalid_argument("--impl must be pseud or floor");
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pseud-load server: %s\n", e.what());
    return 2;
  }

  write_line(STDOUT_FILENO, "ready endpoint=" + server->endpoint() + " pid=" + std::to_string(::getpid()));
  while (true) {
    if (!control.has_line()) server->serve_until_readable(control.fd());
    const auto command = control.line(now_ns() + ms_to_ns(1000));
    if (!command || *command == "quit") break;
    if (*command == "stats") {
      write_line(STDOUT_FILENO, stats_line(*server));
    } else if (command->rfind("wait-peers ", 0) == 0) {
      unsigned long long peers = 0;
      long long limit_ms = 0;
      if (std::sscanf(command->c_str(), "wait-peers %llu %lld", &peers, &limit_ms) != 2) {
        write_line(STDOUT_FILENO, "peers reached=0 ms=-1 error=bad_command");
        continue;
      }
      const auto start = now_ns();
      const bool reached = server->wait_peers(peers, limit_ms);
      write_line(STDOUT_FILENO, "peers reached=" + std::to_string(reached ? 1 : 0) +
                                    " ms=" + std::to_string((now_ns() - start) / 1'000'000));
    } else {
      write_line(STDOUT_FILENO, "error unknown_command");
    }
  }
  server->stop();
  write_line(STDOUT_FILENO, "bye " + stats_line(*server).substr(6));
  server.reset();
  return 0;
}

}  // namespace pseud::load
