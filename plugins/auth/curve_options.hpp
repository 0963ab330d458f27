#pragma once
// Layer 6 (plugins): CURVE key settings shared by the curve backends. Keys
// are checked when the backend is made, so a bad key fails at configuration,
// not at the first handshake.

#include <memory>
#include <string_view>

#include "pseud/auth.hpp"
#include "pseud/keys.hpp"

namespace pseud::plugins {

/// A server's long-term key pair, from settings secret_key (and public_key, if given, checked against it).
struct ServerKeys {
  CurveKey secret;
};
ServerKeys server_keys(const Settings& settings, std::string_view backend);
/// Makes the host's socket a CURVE server with these keys.
void apply_server_keys(AuthHost& host, const ServerKeys& keys);

/// A client's view: the server's public key and its own pair (generated when
/// `may_generate` and none is given).
struct ClientKeys {
  CurveKey server_public;
  CurveKey public_key;
  CurveKey secret;
};
ClientKeys client_keys(const Settings& settings, std::string_view backend, bool may_generate);
/// Makes the host's socket a CURVE client with these keys.
void apply_client_keys(AuthHost& host, const ClientKeys& keys);

/// A CURVE client that needs nothing beyond its keys.
std::unique_ptr<AuthBackend> make_curve_client(const Settings& settings, std::string_view backend, bool may_generate);

}  // namespace pseud::plugins
