#pragma once
// The pseud tool: turning --auth, key and heartbeat options into PeerOptions.

#include "cli/command_line.hpp"
#include "pseud/peer.hpp"

namespace pseud::cli {

/// Flags every command that makes a peer accepts.
inline const std::vector<std::string> security_flags{"auth", "user", "password", "public-key", "secret-key",
                                                     "server-public-key", "heartbeat", "heartbeat-interval"};

/// `flags`, each with `prefix` in front (the upstream side of a relay: "upstream-").
std::vector<std::string> prefixed(const std::vector<std::string>& flags, const std::string& prefix);
/// Options of a client made from the command line (--auth, --user, --password, keys, --identity,
/// --heartbeat), each flag read with `prefix` in front.
PeerOptions client_options(const CommandLine& line, const std::string& prefix = {});
/// CallOptions with --timeout SECONDS (default 5).
CallOptions timeout_option(const CommandLine& line);
/// Options of a server made from the command line (--auth, --user LOGIN=PASSWORD..., keys, --trust..., --permission...).
PeerOptions server_options(const CommandLine& line);

}  // namespace pseud::cli
