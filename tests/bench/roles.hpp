#pragma once
// The hidden roles pseud-bench spawns itself in. Each talks to the driver in
// lines: the server prints "READY <endpoint> <server public key or ->" and
// serves until its stdin closes; the client reads "keys <public> <secret>"
// (or "keys - -") from stdin, measures, and prints "RESULT <figures>".
// Either prints "FAILED <why>" and exits 1 when something goes wrong.

#include <string>
#include <vector>

#include "options.hpp"

namespace bench {

inline constexpr const char* serve_role = "--serve";
inline constexpr const char* drive_role = "--drive";

/// What the driver asks of one repetition's processes.
struct RoleArgs {
  Path path = Path::pseud;  ///< the server role runs server_impl(path), the client role client_impl(path)
  Config config;
  std::string endpoint;        ///< client: where to connect (empty for inproc)
  std::string server_key = "-";  ///< client: the server's public key
  std::string trust = "-";     ///< server: the client public key to trust
  long warmup_ms = 200;
  long duration_ms = 1000;
  long parent = 0;
};

/// `role` followed by the key=value arguments of `args`.
std::vector<std::string> role_command(const char* role, const RoleArgs& args);

/// The server role; `args` are the arguments after --serve.
int serve_main(const std::vector<std::string>& args);
/// The client role; `args` are the arguments after --drive.
int drive_main(const std::vector<std::string>& args);

}  // namespace bench
