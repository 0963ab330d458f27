// A PLAIN server whose passwords the application checks with its own
// function, verify() (a fixed table here; a database or LDAP lookup fits the
// same place). Checks run on the password-check threads, never on the
// handshake thread; clients use the built-in "plain" client.
// Built twice: as this program, and with -DPSEUD_AS_PLUGIN as a plugin that
// pseud::load_plugin() loads and that registers "verified_plain" by name.

#include <iostream>

#include <pseud/pseud.hpp>

bool verify(std::string_view user, std::string_view password) { return user == "alice" && password == "wonderland"; }

class VerifiedPlain final : public pseud::ServerAuth {
 public:
  void configure(pseud::AuthHost& host) override {
    pseud::use_plain_server(host);
    gate_ = pseud::decide_handshakes(
        host, [threads = pseud::PasswordCheckThreads()](const pseud::Handshake& handshake,
                                                        const pseud::HandshakeAnswer& answer)
                  -> std::optional<pseud::HandshakeVerdict> {
          const bool queued = threads.try_post([answer, login = handshake.login, password = handshake.password] {
            answer(verify(login, password) ? pseud::HandshakeVerdict::accept(login) : pseud::HandshakeVerdict::refuse());
          });
          if (!queued) return pseud::HandshakeVerdict::fail("too many checks waiting");
          return std::nullopt;  // answered from the check thread
        });
  }
  void stop() override { gate_.reset(); }

 private:
  std::unique_ptr<pseud::HandshakeGate> gate_;
};

const pseud::AuthBackendDefinition verified_plain{
    .server = [](const pseud::Settings&) { return std::make_unique<VerifiedPlain>(); }};

#ifdef PSEUD_AS_PLUGIN
PSEUD_PLUGIN { pseud::register_auth_backend("verified_plain", verified_plain); }
#else
int main() {
  pseud::register_auth_backend("verified_plain", verified_plain);
  pseud::Server server("server", {.auth = {"verified_plain", {}}});
  server.register_rpc("whoami", [](const std::string& user) { return user; }, {.with_identity = true});
  const std::string endpoint = server.bind("tcp://127.0.0.1:*");

  pseud::Client alice("server", {.auth = {"plain", {{"login", "alice"}, {"password", "wonderland"}}}});
  alice.connect(endpoint);
  std::cout << "verified: " << alice.call<std::string>("whoami") << "\n";

  pseud::Client guesser("server", {.auth = {"plain", {{"login", "alice"}, {"password", "guess"}}}});
  guesser.connect(endpoint);
  try {
    guesser.call<std::string>("whoami");
    return 1;
  } catch (const pseud::HandshakeError& e) {
    std::cout << "refused: " << e.what() << "\n";
  }
}
#endif
