// CURVE: an encrypted, authenticated link. The server trusts one client key;
// a client with another key is refused at the handshake, quickly and with a
// typed error.

#include <iostream>

#include <pseud/pseud.hpp>

int main() {
  const pseud::CurveKeyPair server_keys = pseud::generate_curve_keypair();
  const pseud::CurveKeyPair alice_keys = pseud::generate_curve_keypair();
  const pseud::CurveKeyPair mallory_keys = pseud::generate_curve_keypair();

  pseud::PeerOptions server_options;
  server_options.auth = {"trusted_curve",
                         {{"secret_key", server_keys.secret_key}, {"trust", "alice=" + alice_keys.public_key}}};
  pseud::Server server("server", server_options);
  server.register_rpc("whoami", [](const std::string& user) { return user; }, {.with_identity = true});
  const std::string endpoint = server.bind("tcp://127.0.0.1:*");

  auto client_options = [&](const pseud::CurveKeyPair& own) {
    pseud::PeerOptions options;
    options.auth = {"trusted_curve", {{"server_public_key", server_keys.public_key},
                                      {"public_key", own.public_key},
                                      {"secret_key", own.secret_key}}};
    return options;
  };

  pseud::Client alice("server", client_options(alice_keys));
  alice.connect(endpoint);
  std::cout << "alice is known as: " << alice.call<std::string>("whoami") << "\n";

  pseud::Client mallory("server", client_options(mallory_keys));
  mallory.connect(endpoint);
  try {
    mallory.call<std::string>("whoami");
    std::cout << "mallory got in: this must not happen\n";
    return 1;
  } catch (const pseud::HandshakeError& e) {
    std::cout << "mallory refused: " << e.what() << "\n";
  }
  return 0;
}
