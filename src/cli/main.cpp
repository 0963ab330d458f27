// pseud: call, serve, inspect pseud v1 peers from the command line; JSON in and out.

#include <signal.h>

#include <cerrno>
#include <cstdio>
#include <iostream>

#include "cli/command_line.hpp"
#include "cli/commands.hpp"
#include "cli/output.hpp"
#include "pseud/keys.hpp"
#include "pseud/log.hpp"

namespace pseud::cli {

namespace {

constexpr const char* usage_text = R"(usage:
  pseud call ENDPOINT FUNC [ARG...] [--kwargs JSON] [--server-name NAME] [--timeout SECONDS]
             [--auth noop|plain|trusted_curve|untrusted_curve] [--user LOGIN] [--password PASSWORD]
             [--public-key Z85 --secret-key Z85 --server-public-key Z85] [--identity ROUTING_ID]
             [--heartbeat noop|liveness] [--heartbeat-interval MS] [--serve SECONDS] [--repeat N]
  pseud call ENDPOINT,ENDPOINT... FUNC [ARG...] [--server-name NAME] [--policy POLICY] [options above]
  pseud call --service NAME --discovery etcd://HOST:PORT FUNC [ARG...] [--policy POLICY] [options above]
             POLICY: round_robin (default), first_alive, least_outstanding
  pseud call ENDPOINT FUNC [ARG...] --notify [--repeat N] [--wait-delivered SECONDS] [options above]
             sends without awaiting replies (waiting for the server up to --timeout); prints
             {"notified", "sent", "failed", "unsent"[, "delivered"]}; exit 2 when some never left
  pseud serve ENDPOINT [--name NAME] [--auth ...] [--public-key Z85 --secret-key Z85]
             [--trust NAME=Z85 ...] [--user LOGIN=PASSWORD ...] [--permission USER=PERMISSION ...]
             [--heartbeat noop|liveness] [--heartbeat-interval MS] [--call PEER:FUNC:JSON_ARRAY ...]
             [--instance ID [--register etcd://HOST:PORT [--version V] [--ttl SECONDS] [--advertise ENDPOINT]]]
             [--grace SECONDS]   (SIGTERM stops it gracefully within this, default 5; SIGINT at once)
             [--events [--events-endpoint ENDPOINT]]   (an event hub; clients may emit through it)
  pseud inspect ENDPOINT [--server-name NAME] [--auth ...] [--timeout SECONDS]
  pseud health ENDPOINT [SERVICE] [--server-name NAME] [--auth ...]   (exit 0 only when SERVING)
  pseud discover etcd://HOST:PORT [SERVICE]   (one JSON line per live instance, of every service without SERVICE)
  pseud emit ENDPOINT TYPE JSON_BODY [--header NAME=VALUE ...] [--server-name NAME] [--auth ...]
             asks the server's event hub (pseud serve --events) to emit; prints {"id": ...}
  pseud subscribe ENDPOINT PATTERN [--group NAME] [--count N] [--seconds S] [--server-name NAME] [--auth ...]
             one JSON line per event: {"id", "type", "source", "headers", "body"}; PATTERN: dotted
             words, '*' one word, '#' zero or more; --group: one member of the group gets each event
  pseud relay --listen ENDPOINT (--forward ENDPOINT [--upstream-name NAME] | --service NAME --discovery URL)
             [--mode pass-through|store-and-forward] [--ttl SECONDS] [--timeout SECONDS] [--name NAME]
             [--auth ... --user LOGIN=PASSWORD ...]   (who may call the relay)
             [--upstream-auth ... --upstream-user LOGIN --upstream-password PASSWORD ...]   (the relay upstream)
  pseud plugin --cookie KEY=VALUE [--versions LIST] [--call FUNC:JSON_ARRAY ...] [--timeout SECONDS]
             [--start-timeout SECONDS] [--grace SECONDS] -- PATH [ARG...]
             starts PATH as a plugin (protocol/PLUGINS.md), offering protocol versions LIST (default 1);
             prints {"event": "started", "version", "pid", "endpoint"}, one line per --call as `call` does,
             then {"event": "closed", "exit"[, "signal"]}; the plugin's output goes to stderr
  pseud keygen

Arguments are JSON where valid JSON, otherwise strings. Tagged forms:
  {"$bytes": HEX}, {"$map": [[key, value], ...]}, {"$ext": CODE, "hex": HEX}
  (sent as given, codes 123-126 too: a Python pseud peer unpickles those)
Exit status: 0 ok, 1 remote error, unauthorised or not serving, 2 timeout, unreachable, outcome unknown,
discovery unreachable or a plugin that did not start, 3 usage or set-up error.
)";

}  // namespace

void block_stop_signals() {
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
}

bool wait_for_signal(double seconds) {
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  if (seconds < 0) {
    int signal_number = 0;
    return sigwait(&stop, &signal_number) == 0;
  }
  const auto whole = static_cast<time_t>(seconds);
  timespec limit{whole, static_cast<long>((seconds - static_cast<double>(whole)) * 1e9)};
  while (true) {
    const int taken = sigtimedwait(&stop, nullptr, &limit);
    if (taken > 0) return true;
    if (errno != EINTR) return false;  // EAGAIN: the time is up
  }
}

int take_signal(int signal_number) {
  sigset_t wanted;
  sigemptyset(&wanted);
  if (signal_number != 0) {
    sigaddset(&wanted, signal_number);
  } else {
    sigaddset(&wanted, SIGINT);
    sigaddset(&wanted, SIGTERM);
  }
  int taken = 0;
  return sigwait(&wanted, &taken) == 0 ? taken : 0;
}

int run_keygen(const std::vector<std::string>& words) {
  if (!words.empty()) throw UsageProblem("usage: pseud keygen");
  const CurveKeyPair pair = generate_curve_keypair();
  print_line("{\"public\": " + json_text(pair.public_key) + ", \"secret\": " + json_text(pair.secret_key) + "}");
  return Exit::ok;
}

int run(int argc, char** argv) {
  const std::vector<std::string> words(argv + (argc > 1 ? 2 : 1), argv + argc);
  const std::string command = argc > 1 ? argv[1] : "";
  if (command == "--help" || command == "-h" || command == "help") {
    std::fputs(usage_text, stdout);
    return Exit::ok;
  }
  block_stop_signals();
  set_log_handler([](LogLevel level, std::string_view message) {
    std::cerr << "pseud: " << log_level_name(level) << ": " << message << "\n";
  }, LogLevel::warning);
  try {
    if (command == "call") return run_call(words);
    if (command == "serve") return run_serve(words);
    if (command == "inspect") return run_inspect(words);
    if (command == "keygen") return run_keygen(words);
    if (command == "health") return run_health(words);
    if (command == "discover") return run_discover(words);
    if (command == "emit") return run_emit(words);
    if (command == "subscribe") return run_subscribe(words);
    if (command == "relay") return run_relay(words);
    if (command == "plugin") return run_plugin(words);
    std::fputs(usage_text, stderr);
    return Exit::usage;
  } catch (const std::exception& e) {
    std::cerr << "pseud " << command << ": " << e.what() << "\n";
    return Exit::usage;
  }
}

}  // namespace pseud::cli

int main(int argc, char** argv) { return pseud::cli::run(argc, argv); }
