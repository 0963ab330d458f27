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

}  // namespace

int run_discover(const std::vector<std::string>& words) {
  const CommandLine line(words, {});
  const auto& words_left = line.positionals();
  if (words_left.empty() || words_left.size() > 2) throw UsageProblem("usage: pseud discover etcd://HOST:PORT [SERVICE]");
  const auto discovery = make_discovery(words_left[0]);
  try {
    const auto records = words_left.size() == 2 ? discovery->lookup(words_left[1]) : discovery->lookup_all();
    for (const InstanceRecord& record : records) print_line(record_line(record));
    return Exit::ok;
  } catch (const UsageError&) {
    throw;
  } catch (...) {
    print_line(error_line(std::current_exception()));
    return exit_status_of(std::current_exception());
  }
}

int run_health(const std::vector<std::string>& words) {
  std::vector<std::string> flags = security_flags;
  flags.insert(flags.end(), {"server-name", "timeout", "identity"});
  const CommandLine line(words, flags);
  if (line.positionals().empty() || line.positionals().size() > 2) {
    throw UsageProblem("usage: pseud health ENDPOINT [SERVICE] [--server-name NAME]");
  }
  Client client(line.get_or("server-name", "server"), client_options(line));
  client.connect(line.positionals()[0]);
  const std::string service = line.positionals().size() == 2 ? line.positionals()[1] : std::string();
  try {
    const auto status = client.call<std::string>(health_function, service, timeout_option(line));
    print_line("{\"status\": " + json_text(status) + "}");
    return status == health_serving ? Exit::ok : Exit::remote_error;
  } catch (...) {
    print_line(error_line(std::current_exception()));
    return exit_status_of(std::current_exception());
  }
}

}  // namespace pseud::cli
