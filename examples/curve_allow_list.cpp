// A CURVE server whose allow-list lives in the application: a map it edits
// while the server runs. A key taken off the list is refused at its next
// connection. The server side is a pseud::ServerAuth using the public
// handshake hook (pseud/handshakes.hpp); clients use the built-in
// "trusted_curve" client.

#include <iostream>
#include <map>
#include <mutex>

#include <pseud/pseud.hpp>

struct AllowList {
  std::mutex mutex;
  std::map<std::string, std::string> users;  // client public key (Z85) -> user
};

class AllowListServer final : public pseud::ServerAuth {
 public:
  AllowListServer(const pseud::Settings& settings, AllowList& list)
      : secret_(pseud::parse_curve_key(settings.require("secret_key", "allow_list"), "secret_key")), list_(list) {}
  void configure(pseud::AuthHost& host) override {
    pseud::use_curve_server(host, secret_);
    gate_ = pseud::decide_handshakes(host, [&list = list_](const pseud::Handshake& handshake) {
      std::lock_guard lock(list.mutex);
      auto it = list.users.find(handshake.client_key);
      return it == list.users.end() ? pseud::HandshakeVerdict::refuse() : pseud::HandshakeVerdict::accept(it->second);
    });
  }
  void stop() override { gate_.reset(); }

 private:
  pseud::CurveKey secret_;
  AllowList& list_;
  std::unique_ptr<pseud::HandshakeGate> gate_;
};

int main() {
  AllowList list;
  pseud::register_auth_backend("allow_list", {.server = [&list](const pseud::Settings& settings) {
                                                 return std::make_unique<AllowListServer>(settings, list);
                                               },
                                               .settings = {.server = {"secret_key"}}});
  const auto server_keys = pseud::generate_curve_keypair(), alice = pseud::generate_curve_keypair();
  list.users[alice.public_key] = "alice";

  pseud::Server server("server", {.auth = {"allow_list", {{"secret_key", server_keys.secret_key}}}});
  server.register_rpc("whoami", [](const std::string& user) { return user; }, {.with_identity = true});
  const std::string endpoint = server.bind("tcp://127.0.0.1:*");
  const pseud::Settings as_alice{
      {"server_public_key", server_keys.public_key}, {"public_key", alice.public_key}, {"secret_key", alice.secret_key}};

  pseud::Client first("server", {.auth = {"trusted_curve", as_alice}});
  first.connect(endpoint);
  std::cout << "listed: " << first.call<std::string>("whoami") << "\n";

  { std::lock_guard lock(list.mutex); list.users.erase(alice.public_key); }
  pseud::Client second("server", {.auth = {"trusted_curve", as_alice}});
  second.connect(endpoint);
  try {
    second.call<std::string>("whoami");
    return 1;
  } catch (const pseud::HandshakeError& e) {
    std::cout << "taken off the list: " << e.what() << "\n";
  }
}
