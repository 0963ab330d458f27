#include "cli/peer_options.hpp"

#include "cli/command_options.hpp"

namespace pseud::cli {

namespace {

void add_auth(CLI::App& app, std::string& auth, const std::string& prefix) {
  app.add_option("--" + prefix + "auth", auth, "authentication (default noop)")
      ->check(CLI::IsMember({"noop", "plain", "trusted_curve", "untrusted_curve"}));
}

void add_heartbeat(CLI::App& app, std::string& heartbeat, std::optional<long>& interval, const std::string& prefix) {
  app.add_option("--" + prefix + "heartbeat", heartbeat, "heartbeat (default noop)")
      ->check(CLI::IsMember({"noop", "liveness"}));
  app.add_option("--" + prefix + "heartbeat-interval", interval, "liveness heartbeat interval")
      ->check(at_least(10))
      ->type_name("MS");
}

BackendChoice heartbeat_choice(const std::string& name, const std::optional<long>& interval) {
  BackendChoice choice{name, {}};
  if (interval) choice.settings.add("interval_ms", std::to_string(*interval));
  return choice;
}

void copy(const std::optional<std::string>& value, const std::string& setting, Settings& out) {
  if (value) out.add(setting, *value);
}

}  // namespace

void ClientFlags::add_to(CLI::App& app, const std::string& prefix) {
  add_auth(app, auth, prefix);
  app.add_option("--" + prefix + "user", user, "login (plain)")->type_name("LOGIN");
  app.add_option("--" + prefix + "password", password, "password (plain)");
  app.add_option("--" + prefix + "public-key", public_key, "this peer's CURVE public key")->type_name("Z85");
  app.add_option("--" + prefix + "secret-key", secret_key, "this peer's CURVE secret key")->type_name("Z85");
  app.add_option("--" + prefix + "server-public-key", server_public_key, "the server's CURVE public key")
      ->type_name("Z85");
  app.add_option("--" + prefix + "identity", identity, "this peer's routing id")->type_name("ROUTING_ID");
  add_heartbeat(app, heartbeat, heartbeat_interval, prefix);
}

PeerOptions ClientFlags::peer_options() const {
  PeerOptions options;
  options.auth.name = auth;
  Settings& settings = options.auth.settings;
  copy(user, "login", settings);
  copy(password, "password", settings);
  copy(public_key, "public_key", settings);
  copy(secret_key, "secret_key", settings);
  copy(server_public_key, "server_public_key", settings);
  // A command-line user chose PLAIN knowingly; the warning would only be noise.
  // (Only "plain" takes the setting: other backends refuse names they do not know.)
  if (auth == "plain") settings.add("encrypted_link", "true");
  options.heartbeat = heartbeat_choice(heartbeat, heartbeat_interval);
  options.routing_id = identity;
  options.strict_map_keys = false;  // {"$map": ...} arguments are the user's explicit choice
  // So is {"$ext": 123..126, ...}: typed by hand, or pasted from a value a
  // Python peer sent (the tool prints ext values in that form). JSON strings
  // are always valid UTF-8, so strict_utf8 never fires on the arguments.
  options.allow_python_ext = true;
  return options;
}

void TargetFlags::add_to(CLI::App& app, const std::string& timeout_meaning, const std::string& server_names) {
  client.add_to(app);
  app.add_option(server_names, server_name, "the server's name (default server)")->type_name("NAME");
  add_timeout(app, timeout, timeout_meaning);
}

void ServerFlags::add_to(CLI::App& app) {
  add_auth(app, auth, "");
  add_repeatable(app, "--user", users, "a user who may log in (plain), repeatable")->type_name("LOGIN=PASSWORD");
  add_repeatable(app, "--trust", trusts, "a client key trusted under NAME (trusted_curve), repeatable")
      ->type_name("NAME=Z85");
  add_repeatable(app, "--permission", permissions, "a permission of a user, repeatable")
      ->type_name("USER=PERMISSION");
  app.add_option("--public-key", public_key, "the server's CURVE public key")->type_name("Z85");
  app.add_option("--secret-key", secret_key, "the server's CURVE secret key")->type_name("Z85");
  add_heartbeat(app, heartbeat, heartbeat_interval, "");
}

PeerOptions ServerFlags::peer_options() const {
  PeerOptions options;
  options.auth.name = auth;
  Settings& settings = options.auth.settings;
  for (const auto& user : users) settings.add("user", user);
  for (const auto& trust : trusts) settings.add("trust", trust);
  for (const auto& permission : permissions) settings.add("permission", permission);
  copy(public_key, "public_key", settings);
  copy(secret_key, "secret_key", settings);
  if (auth == "plain") settings.add("encrypted_link", "true");
  options.heartbeat = heartbeat_choice(heartbeat, heartbeat_interval);
  options.strict_map_keys = false;
  // The demo functions echo what they receive: an ext 123..126 goes back to
  // the peer that sent it. A str that is not UTF-8 (from a peer that is not
  // Python) is still refused with a TypeError reply (strict_utf8).
  options.allow_python_ext = true;
  return options;
}

}  // namespace pseud::cli
