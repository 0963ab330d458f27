#pragma once
// Layer 6 (plugins): a ServerAuth or ClientAuth (auth_roles.hpp) seen
// through the whole AuthBackend interface the engine drives.

#include <memory>

#include "pseud/auth.hpp"
#include "pseud/auth_roles.hpp"

namespace pseud::detail {

std::unique_ptr<AuthBackend> adapt_server_auth(std::unique_ptr<ServerAuth> server, bool allows_routing_id_takeover);
std::unique_ptr<AuthBackend> adapt_client_auth(std::unique_ptr<ClientAuth> client);

}  // namespace pseud::detail
