#include "cli/peer_options.hpp"

#include <algorithm>
#include <cmath>

namespace pseud::cli {

namespace {

const std::vector<std::string> auth_names{"noop", "plain", "trusted_curve", "untrusted_curve"};

std::string auth_name(const CommandLine& line, const std::string& prefix = {}) {
  const std::string name = line.get_or(prefix + "auth", "noop");
  if (std::find(auth_names.begin(), auth_names.end(), name) == auth_names.end()) {
    throw UsageProblem("--" + prefix + "auth must be noop, plain, trusted_curve or untrusted_curve, not '" + name + "'");
  }
  return name;
}

void copy_flag(const CommandLine& line, const std::string& flag, const std::string& setting, Settings& out) {
  if (auto value = line.get(flag)) out.add(setting, *value);
}

BackendChoice heartbeat(const CommandLine& line, const std::string& prefix = {}) {
  const std::string name = line.get_or(prefix + "heartbeat", "noop");
  if (name != "noop" && name != "liveness") {
    throw UsageProblem("--" + prefix + "heartbeat must be noop or liveness, not '" + name + "'");
  }
  BackendChoice choice{name, {}};
  if (auto interval = line.integer(prefix + "heartbeat-interval", 10)) {
    choice.settings.add("interval_ms", std::to_string(*interval));
  }
  return choice;
}

}  // namespace

CallOptions timeout_option(const CommandLine& line) {
  CallOptions options;
  const double seconds = line.seconds("timeout").value_or(5.0);
  options.timeout = std::chrono::milliseconds(static_cast<long>(std::ceil(seconds * 1000)));
  return options;
}

std::vector<std::string> prefixed(const std::vector<std::string>& flags, const std::string& prefix) {
  std::vector<std::string> out;
  for (const auto& flag : flags) out.push_back(prefix + flag);
  return out;
}

PeerOptions client_options(const CommandLine& line, const std::string& prefix) {
  PeerOptions options;
  options.auth.name = auth_name(line, prefix);
  Settings& settings = options.auth.settings;
  copy_flag(line, prefix + "user", "login", settings);
  copy_flag(line, prefix + "password", "password", settings);
  copy_flag(line, prefix + "public-key", "public_key", settings);
  copy_flag(line, prefix + "secret-key", "secret_key", settings);
  copy_flag(line, prefix + "server-public-key", "server_public_key", settings);
  // A command-line user chose PLAIN knowingly; the warning would only be noise.
  // (Only "plain" takes the setting: other backends refuse names they do not know.)
  if (options.auth.name == "plain") settings.add("encrypted_link", "true");
  options.heartbeat = heartbeat(line, prefix);
  options.routing_id = line.get_or(prefix + "identity", "");
  options.strict_map_keys = false;  // {"$map": ...} arguments are the user's explicit choice
  // So is {"$ext": 123..126, ...}: typed by hand, or pasted from a value a
  // Python peer sent (the tool prints ext values in that form). JSON strings
  // are always valid UTF-8, so strict_utf8 never fires on the arguments.
  options.allow_python_ext = true;
  return options;
}

PeerOptions server_options(const CommandLine& line) {
  PeerOptions options;
  options.auth.name = auth_name(line);
  Settings& settings = options.auth.settings;
  for (const auto& user : line.all("user")) settings.add("user", user);
  for (const auto& trust : line.all("trust")) settings.add("trust", trust);
  for (const auto& permission : line.all("permission")) settings.add("permission", permission);
  copy_flag(line, "public-key", "public_key", settings);
  copy_flag(line, "secret-key", "secret_key", settings);
  if (options.auth.name == "plain") settings.add("encrypted_link", "true");
  options.heartbeat = heartbeat(line);
  options.strict_map_keys = false;
  // The demo functions echo what they receive: an ext 123..126 goes back to
  // the peer that sent it. A str that is not UTF-8 (from a peer that is not
  // Python) is still refused with a TypeError reply (strict_utf8).
  options.allow_python_ext = true;
  return options;
}

}  // namespace pseud::cli
