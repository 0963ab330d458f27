#pragma once
// The pseud tool: the --auth, key and heartbeat options of the peers it
// makes, declared on a subcommand and turned into PeerOptions.

#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "pseud/peer.hpp"

namespace pseud::cli {

/// The options of a peer that connects (call, inspect, ..., and the
/// upstream side of a relay).
struct ClientFlags {
  std::string auth = "noop";
  std::optional<std::string> user, password, public_key, secret_key, server_public_key;
  std::string heartbeat = "noop";
  std::optional<long> heartbeat_interval;
  std::string identity;

  /// Declares --auth, --user, --password, the key options, --identity and
  /// --heartbeat[-interval] on `app`, each with `prefix` after the dashes.
  void add_to(CLI::App& app, const std::string& prefix = {});
  PeerOptions peer_options() const;
};

/// What a command that talks to one server takes: the client's options,
/// --server-name NAME (default "server") and --timeout SECONDS (default 5).
struct TargetFlags {
  ClientFlags client;
  std::string server_name = "server";
  std::optional<double> timeout;

  /// `server_names`: the option's names, "--server-name" or more ("--server-name,--server").
  void add_to(CLI::App& app, const std::string& timeout_meaning = "seconds to wait for the answer",
              const std::string& server_names = "--server-name");
};

/// The options of a peer that binds (serve, the listening side of a relay).
struct ServerFlags {
  std::string auth = "noop";
  std::vector<std::string> users, trusts, permissions;
  std::optional<std::string> public_key, secret_key;
  std::string heartbeat = "noop";
  std::optional<long> heartbeat_interval;

  /// Declares --auth, --user LOGIN=PASSWORD..., --trust..., --permission...,
  /// the key options and --heartbeat[-interval] on `app`.
  void add_to(CLI::App& app);
  PeerOptions peer_options() const;
};

}  // namespace pseud::cli
