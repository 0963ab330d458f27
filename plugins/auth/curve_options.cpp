#include "curve_options.hpp"

#include "pseud/handshakes.hpp"
#include "pseud/keys.hpp"

namespace pseud::plugins {

namespace {

class CurveClient final : public AuthBackend {
 public:
  explicit CurveClient(ClientKeys keys) : keys_(std::move(keys)) {}
  void configure(AuthHost& host) override { apply_client_keys(host, keys_); }
  bool is_authenticated(const Connection&) override { return true; }

 private:
  ClientKeys keys_;
};

std::string label(std::string_view backend, std::string_view what) { return std::string(backend) + ": " + std::string(what); }

}  // namespace

ServerKeys server_keys(const Settings& settings, std::string_view backend) {
  ServerKeys keys;
  keys.secret = parse_curve_key(settings.require("secret_key", backend), label(backend, "secret_key"));
  if (auto public_key = settings.get("public_key")) {
    check_key_pair(parse_curve_key(*public_key, label(backend, "public_key")), keys.secret,
                             label(backend, "public_key and secret_key"));
  }
  return keys;
}

void apply_server_keys(AuthHost& host, const ServerKeys& keys) { use_curve_server(host, keys.secret); }

ClientKeys client_keys(const Settings& settings, std::string_view backend, bool may_generate) {
  ClientKeys keys;
  keys.server_public =
      parse_curve_key(settings.require("server_public_key", backend), label(backend, "server_public_key"));
  auto public_key = settings.get("public_key");
  auto secret_key = settings.get("secret_key");
  if (!public_key && !secret_key && may_generate) {
    const CurveKeyPair generated = generate_curve_keypair();
    public_key = generated.public_key;
    secret_key = generated.secret_key;
  }
  if (!public_key || !secret_key) {
    throw UsageError(std::string(backend) + ": the settings 'public_key' and 'secret_key' are required");
  }
  keys.public_key = parse_curve_key(*public_key, label(backend, "public_key"));
  keys.secret = parse_curve_key(*secret_key, label(backend, "secret_key"));
  check_key_pair(keys.public_key, keys.secret, label(backend, "public_key and secret_key"));
  return keys;
}

void apply_client_keys(AuthHost& host, const ClientKeys& keys) {
  use_curve_client(host, keys.server_public, keys.public_key, keys.secret);
}

std::unique_ptr<AuthBackend> make_curve_client(const Settings& settings, std::string_view backend, bool may_generate) {
  return std::make_unique<CurveClient>(client_keys(settings, backend, may_generate));
}

}  // namespace pseud::plugins
