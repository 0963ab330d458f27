// pseud-load clients: one client process of the fleet.
//
//   pseud-load clients --kind zmtp|zmq|real --endpoint E --count N --first F
//       --payload BYTES --heartbeat liveness|noop --t0 NS --connect-ms MS
//       [--curve-server-key Z85] --parent PID [--limit-s S]
//
// With --curve-server-key, stdin starts with "keys N\n" and N 64-byte key
// pairs (public, secret), one per client. Then, on stdout:
//   connected ok=.. failed=.. last_ns=.. first_us=HIST   (every first call answered, or the deadline)
// and for each stdin line
//   load start=NS end=NS drain=NS  ->  loaded in_window=.. unanswered=.. latency_us=HIST
//   quit (or EOF)                  ->  bye calls=.. ok=.. errors=.. hb_sent=.. hb_recv=.. gone=.. first_gone=TEXT
//                                      error=TEXT
// Exit status 0 when every call was answered correctly, 1 otherwise, 2 on a
// bad command line or set-up failure.

#include <unistd.h>

#include <zmq.h>

#include <cstdio>
#include <exception>

#include "args.hpp"
#include "child.hpp"
#include "clock.hpp"
#include "fleet.hpp"
#include "line_io.hpp"
#include "roles.hpp"

namespace pseud::load {

namespace {

std::string one_word(std::string text) {
  for (char& c : text) {
    if (c == ' ' || c == '\n') c = '_';
  }
  return text.empty() ? "-" : text;
}

void say(const std::string& line) { write_line(STDOUT_FILENO, line); }

}  // namespace

int clients_role(int argc, char** argv) {
  FleetOptions options;
  std::string kind;
  std::int64_t connect_ms = 0;
  try {
    const Args args(argc, argv, 0);
    args.only({"kind", "endpoint", "count", "first", "payload", "heartbeat", "t0", "connect-ms", "curve-server-key",
               "parent", "limit-s"});
    if (!guard_child_process(static_cast<pid_t>(args.number("parent", 0)),
                             static_cast<unsigned>(args.number("limit-s", 300)))) {
      return 2;
    }
    kind = args.text("kind", "zmtp");
    options.endpoint = args.text("endpoint", "");
    options.count = static_cast<std::size_t>(args.number("count", 0));
    options.first = static_cast<std::size_t>(args.number("first", 0));
    options.payload = static_cast<std::size_t>(args.number("payload", 32));
    options.liveness = args.text("heartbeat", "noop") == "liveness";
    options.t0_ns = args.number("t0", now_ns());
    connect_ms = args.number("connect-ms", 30000);
    if (kind != "zmtp" && kind != "zmq" && kind != "real") throw std::invalid_argument("--kind must be zmtp, zmq or real");
    if (options.endpoint.empty() || options.count == 0) throw std::invalid_argument("--endpoint and --count are required");
    if (args.has("curve-server-key")) {
      options.server_public_key = std::string(32, '\0');
      const std::string text = args.text("curve-server-key", "");
      if (text.size() != 40 || !zmq_z85_decode(reinterpret_cast<std::uint8_t*>(options.server_public_key.data()),
                                               text.c_str())) {
        throw std::invalid_argument("--curve-server-key must be 40 characters of Z85");
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pseud-load clients: %s\n", e.what());
    return 2;
  }

  LineReader control(STDIN_FILENO);
  const auto far = [] { return now_ns() + ms_to_ns(600'000); };  // the alarm bounds the process anyway
  std::unique_ptr<Fleet> fleet;
  try {
    if (!options.server_public_key.empty()) {
      const auto header = control.line(now_ns() + ms_to_ns(30'000));
      if (!header || header->rfind("keys ", 0) != 0) throw std::runtime_error("expected 'keys N' on stdin");
      const auto n = static_cast<std::size_t>(std::stoull(header->substr(5)));
      const auto blob = control.bytes(n * pair_bytes, now_ns() + ms_to_ns(30'000));
      if (!blob || n != options.count) throw std::runtime_error("expected one key pair per client on stdin");
      options.keys = decode_pairs(*blob);
    }
    fleet = kind == "zmtp" ? make_zmtp_fleet(options) : kind == "zmq" ? make_zmq_fleet(options) : make_real_fleet(options);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pseud-load clients: %s\n", e.what());
    return 2;
  }

  const ConnectReport connected = fleet->connect_all(options.t0_ns + ms_to_ns(connect_ms));
  say("connected ok=" + std::to_string(connected.ok) + " failed=" + std::to_string(connected.failed) +
      " last_ns=" + std::to_string(connected.last_ns) + " first_us=" + connected.first_call.encode());

  while (true) {
    if (!control.has_line()) fleet->idle_until_readable(control.fd(), far());
    const auto command = control.line(now_ns() + ms_to_ns(1000));
    if (!command || *command == "quit") break;
    if (command->rfind("load ", 0) == 0) {
      const LoadReport report =
          fleet->load(number_field(*command, "start"), number_field(*command, "end"), number_field(*command, "drain"));
      say("loaded in_window=" + std::to_string(report.in_window) + " unanswered=" + std::to_string(report.unanswered) +
          " latency_us=" + report.latency.encode());
    }
  }
  const FleetCounters c = fleet->counters();
  say("bye calls=" + std::to_string(c.calls) + " ok=" + std::to_string(c.ok) + " errors=" + std::to_string(c.errors) +
      " hb_sent=" + std::to_string(c.heartbeats_sent) + " hb_recv=" + std::to_string(c.heartbeats_received) +
      " gone=" + std::to_string(c.gone) + " first_gone=" + one_word(c.first_gone) + " error=" + one_word(c.first_error));
  fleet.reset();
  return c.errors == 0 && c.ok == c.calls ? 0 : 1;
}

}  // namespace pseud::load
