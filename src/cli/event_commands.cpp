// `pseud emit` and `pseud subscribe`: a client of a server that runs an
// EventHub (`pseud serve --events`).

#include <signal.h>
#include <unistd.h>

#include <atomic>

#include "cli/commands.hpp"
#include "cli/json.hpp"
#include "cli/output.hpp"
#include "cli/peer_options.hpp"
#include "pseud/events.hpp"

namespace pseud::cli {

namespace {

std::vector<std::string> event_flags(std::initializer_list<std::string> more) {
  std::vector<std::string> flags = security_flags;
  flags.insert(flags.end(), {"server-name", "timeout", "identity"});
  flags.insert(flags.end(), more);
  return flags;
}

std::map<std::string, std::string> header_options(const CommandLine& line) {
  std::map<std::string, std::string> headers;
  for (const std::string& text : line.all("header")) {
    const auto eq = text.find('=');
    if (eq == std::string::npos || eq == 0) throw UsageProblem("--header takes NAME=VALUE, not '" + text + "'");
    headers[text.substr(0, eq)] = text.substr(eq + 1);
  }
  return headers;
}

std::string event_line(const Event& event) {
  std::string headers = "{";
  for (const auto& [name, value] : event.headers) {
    if (headers.size() > 1) headers += ", ";
    headers += json_text(name) + ": " + json_text(value);
  }
  headers += "}";
  return "{\"id\": " + json_text(event.id) + ", \"type\": " + json_text(event.type) + ", \"source\": " +
         json_text(event.source) + ", \"headers\": " + headers + ", \"body\": " + to_json(event.body.get()) + "}";
}

}  // namespace

int run_emit(const std::vector<std::string>& words) {
  const CommandLine line(words, event_flags({}), {"header"});
  if (line.positionals().size() != 3) throw UsageProblem("usage: pseud emit ENDPOINT TYPE JSON_BODY [--header NAME=VALUE ...]");
  const msgpack::object_handle body = parse_argument(line.positionals()[2]);
  Client client(line.get_or("server-name", "server"), client_options(line));
  client.connect(line.positionals()[0]);
  int status = Exit::ok;
  try {
    const auto id = client.call<std::string>(events_emit_function, line.positionals()[1], body.get(),
                                             header_options(line), timeout_option(line));
    print_line("{\"id\": " + json_text(id) + "}");
  } catch (...) {
    print_line(error_line(std::current_exception()));
    status = exit_status_of(std::current_exception());
  }
  client.stop();
  return status;
}

int run_subscribe(const std::vector<std::string>& words) {
  const CommandLine line(words, event_flags({"group", "count", "seconds"}));
  if (line.positionals().size() != 2) {
    throw UsageProblem("usage: pseud subscribe ENDPOINT PATTERN [--group NAME] [--count N] [--seconds S]");
  }
  const long count = line.integer("count", 1).value_or(0);
  const double seconds = line.seconds("seconds").value_or(-1);
  Client client(line.get_or("server-name", "server"), client_options(line));
  client.connect(line.positionals()[0]);
  EventSubscriberOptions options;
  options.admit_timeout = *timeout_option(line).timeout;
  EventSubscriber subscriber(client, options);
  std::atomic<long> seen{0};
  try {
    subscriber.subscribe(
        line.positionals()[1],
        [&](const Event& event) {
          print_line(event_line(event));
          // The main thread waits for a stop signal: the last wanted event sends one.
          if (count > 0 && seen.fetch_add(1) + 1 == count) ::kill(::getpid(), SIGTERM);
        },
        line.get("group") ? group(*line.get("group")) : broadcast());
  } catch (...) {
    print_line(error_line(std::current_exception()));
    return exit_status_of(std::current_exception());
  }
  print_line("{\"event\": \"subscribed\", \"pattern\": " + json_text(line.positionals()[1]) + "}");
  wait_for_signal(seconds);
  subscriber.stop();
  client.stop();
  return Exit::ok;
}

}  // namespace pseud::cli
