// `pseud discover` (the live instances of a service, one JSON line each) and
// `pseud health` (what a peer's pseud.health answers).

#include "cli/commands.hpp"
#include "cli/json.hpp"
#include "cli/output.hpp"
#include "cli/peer_options.hpp"
#include "pseud/discovery.hpp"

namespace pseud::cli {

namespace {

std::string json_list(const std::vector<std::string>& items) {
  std::string text = "[";
  for (const std::string& item : items) text += (text.size() > 1 ? ", " : "") + json_text(item);
  return text + "]";
}

std::string record_line(const InstanceRecord& record) {
  return "{\"service\": " + json_text(record.service) + ", \"instance\": " + json_text(record.instance) +
         ", \"routing_id\": " + json_text(record.routing_id) + ", \"endpoints\": " + json_list(record.endpoints) +
         ", \"version\": " + json_text(record.version) + ", \"curve_public_key\": " +
         json_text(record.curve_public_key) + ", \"host\": " + json_text(record.host) +
         ", \"pid\": " + std::to_string(record.pid) + ", \"started\": " + json_text(record.started) + "}";
}

// `pseud discover`'s command line.
struct DiscoverLine {
  std::vector<std::string> words;  // ADDRESS [SERVICE]
};

int run_discover(const DiscoverLine& line) {
  const auto& words = line.words;
  if (words.empty() || words.size() > 2) throw UsageProblem("usage: pseud discover etcd://HOST:PORT [SERVICE]");
  const auto discovery = make_discovery(words[0]);
  try {
    const auto records = words.size() == 2 ? discovery->lookup(words[1]) : discovery->lookup_all();
    for (const InstanceRecord& record : records) print_line(record_line(record));
    return Exit::ok;
  } catch (const UsageError&) {
    throw;
  } catch (...) {
    print_line(error_line(std::current_exception()));
    return exit_status_of(std::current_exception());
  }
}

// `pseud health`'s command line.
struct HealthLine {
  std::vector<std::string> words;  // ENDPOINT [SERVICE]
  TargetFlags target;
};

int run_health(const HealthLine& line) {
  if (line.words.empty() || line.words.size() > 2) {
    throw UsageProblem("usage: pseud health ENDPOINT [SERVICE] [--server-name NAME]");
  }
  Client client(line.target.server_name, line.target.client.peer_options());
  client.connect(line.words[0]);
  const std::string service = line.words.size() == 2 ? line.words[1] : std::string();
  try {
    const auto status = client.call<std::string>(health_function, service, call_timeout(line.target.timeout));
    print_line("{\"status\": " + json_text(status) + "}");
    return status == health_serving ? Exit::ok : Exit::remote_error;
  } catch (...) {
    print_line(error_line(std::current_exception()));
    return exit_status_of(std::current_exception());
  }
}

}  // namespace

Command add_discover(CLI::App& tool) {
  auto line = std::make_shared<DiscoverLine>();
  CLI::App* app = tool.add_subcommand("discover", "Lists the live instances of a service");
  app->footer("Prints one JSON line per live instance of SERVICE (of every service without SERVICE).");
  add_words(*app, line->words, {{"ADDRESS", "the discovery service, etcd://HOST:PORT"}, {"SERVICE", "a service name"}});
  return {app, &line->words, [line] { return run_discover(*line); }};
}

Command add_health(CLI::App& tool) {
  auto line = std::make_shared<HealthLine>();
  CLI::App* app = tool.add_subcommand("health", "Asks a server whether it is serving (exit 0 only then)");
  app->footer("Prints what the server's pseud.health answers: {\"status\": \"SERVING\"} (exit 0) or "
              "\"NOT_SERVING\" (exit 1).");
  add_words(*app, line->words, {{"ENDPOINT", "where the server listens"}, {"SERVICE", "a service it registered"}});
  line->target.add_to(*app);
  return {app, &line->words, [line] { return run_health(*line); }};
}

}  // namespace pseud::cli
