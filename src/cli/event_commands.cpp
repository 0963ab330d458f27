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

std::map<std::string, std::string> header_options(const std::vector<std::string>& texts) {
  std::map<std::string, std::string> headers;
  for (const std::string& text : texts) {
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

// `pseud emit`'s command line.
struct EmitLine {
  std::vector<std::string> words;  // ENDPOINT TYPE JSON_BODY
  TargetFlags target;
  std::vector<std::string> headers;
};

int run_emit(const EmitLine& line) {
  if (line.words.size() != 3) throw UsageProblem("usage: pseud emit ENDPOINT TYPE JSON_BODY [--header NAME=VALUE ...]");
  const msgpack::object_handle body = parse_argument(line.words[2]);
  const auto headers = header_options(line.headers);
  Client client(line.target.server_name, line.target.client.peer_options());
  client.connect(line.words[0]);
  int status = Exit::ok;
  try {
    const auto id = client.call<std::string>(events_emit_function, line.words[1], body.get(), headers,
                                             call_timeout(line.target.timeout));
    print_line("{\"id\": " + json_text(id) + "}");
  } catch (...) {
    print_line(error_line(std::current_exception()));
    status = exit_status_of(std::current_exception());
  }
  client.stop();
  return status;
}

// `pseud subscribe`'s command line.
struct SubscribeLine {
  std::vector<std::string> words;  // ENDPOINT PATTERN
  TargetFlags target;
  std::optional<std::string> group;
  long count = 0;
  double seconds = -1;
};

int run_subscribe(const SubscribeLine& line) {
  if (line.words.size() != 2) {
    throw UsageProblem("usage: pseud subscribe ENDPOINT PATTERN [--group NAME] [--count N] [--seconds S]");
  }
  const long count = line.count;
  Client client(line.target.server_name, line.target.client.peer_options());
  client.connect(line.words[0]);
  EventSubscriberOptions options;
  options.admit_timeout = *call_timeout(line.target.timeout).timeout;
  EventSubscriber subscriber(client, options);
  std::atomic<long> seen{0};
  try {
    subscriber.subscribe(
        line.words[1],
        [&](const Event& event) {
          print_line(event_line(event));
          // The main thread waits for a stop signal: the last wanted event sends one.
          if (count > 0 && seen.fetch_add(1) + 1 == count) ::kill(::getpid(), SIGTERM);
        },
        line.group ? group(*line.group) : broadcast());
  } catch (...) {
    print_line(error_line(std::current_exception()));
    return exit_status_of(std::current_exception());
  }
  print_line("{\"event\": \"subscribed\", \"pattern\": " + json_text(line.words[1]) + "}");
  wait_for_signal(line.seconds);
  subscriber.stop();
  client.stop();
  return Exit::ok;
}

}  // namespace

Command add_emit(CLI::App& tool) {
  auto line = std::make_shared<EmitLine>();
  CLI::App* app = tool.add_subcommand("emit", "Emits an event through a server's event hub");
  app->footer("Asks the server's event hub (pseud serve --events) to emit an event; prints {\"id\": ...}.");
  add_words(*app, line->words,
            {{"ENDPOINT", "where the server listens"},
             {"TYPE", "the event's type: dotted words, e.g. order.created"},
             {"JSON_BODY", "its body: JSON, else a string"}});
  line->target.add_to(*app);
  add_repeatable(*app, "--header", line->headers, "a header of the event, repeatable")->type_name("NAME=VALUE");
  return {app, &line->words, [line] { return run_emit(*line); }};
}

Command add_subscribe(CLI::App& tool) {
  auto line = std::make_shared<SubscribeLine>();
  CLI::App* app = tool.add_subcommand("subscribe", "Prints the events whose type matches a pattern");
  app->footer("Subscribes to the server's event hub and prints one JSON line per event: {\"id\", \"type\", "
              "\"source\", \"headers\", \"body\"}.");
  add_words(*app, line->words,
            {{"ENDPOINT", "where the server listens"},
             {"PATTERN", "dotted words; '*' matches one word, '#' zero or more"}});
  line->target.add_to(*app, "seconds to wait for the hub to admit this subscriber");
  app->add_option("--group", line->group, "one member of the group gets each event")->type_name("NAME");
  app->add_option("--count", line->count, "stops after N events")->check(at_least(1))->type_name("N");
  app->add_option("--seconds", line->seconds, "stops after SECONDS")->check(seconds_check())->type_name("SECONDS");
  return {app, &line->words, [line] { return run_subscribe(*line); }};
}

}  // namespace pseud::cli
