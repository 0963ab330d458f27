// auth_server: pseud servers that check passwords, in a process of their own,
// so that the adversarial tests can measure the memory and CPU an attack
// costs them (tests/adversarial/preauth_cost_test.cpp).
//
//   auth_server plain --user LOGIN=PASSWORD [--hash-cost C] [--trusted SECRET_KEY CLIENT_PUBLIC_KEY]
//   auth_server untrusted_curve --secret-key SECRET_KEY --user LOGIN=PASSWORD [--hash-cost C]
//
// plain: a "plain" server named "server"; with --trusted, also a
// "trusted_curve" server named "trusted" in the same process (and ZeroMQ
// context, so the same ZAP handler) trusting CLIENT_PUBLIC_KEY as "friend".
// untrusted_curve: an "untrusted_curve" server named "server".
// --hash-cost: interactive (default) or minimal.
// Each serves ping() -> "pong" and sleep(seconds) -> seconds (blocking).
// stdout, one line each:
//   "endpoint NAME ENDPOINT" per server once bound, then "ready";
//   on "stats": "stats NAME checks=N refused_busy=N refused_by_address=N refused_oversize=N expired=N"
//   per server, then "end".
// stdin: "stats", "quit". It exits when stdin closes; never lives longer than
// 120 s and dies with its parent. Exit status: 0, 1 bad command line, 2 cannot serve.
// PSEUD_AUTH_SERVER_LOG=info|debug in the environment logs to stderr.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "process_options.hpp"
#include "pseud/pseud.hpp"

namespace {

using namespace pseud::test;

const ProgramInfo program{
    "auth_server",
    "usage: auth_server plain --user LOGIN=PASSWORD [--hash-cost C] [--trusted SECRET_KEY CLIENT_PUBLIC_KEY]\n"
    "       auth_server untrusted_curve --secret-key SECRET_KEY --user LOGIN=PASSWORD [--hash-cost C]\n"};

std::string stats_line(const std::string& name, const pseud::PeerStats& s) {
  return "stats " + name + " checks=" + std::to_string(s.auth_checks) +
         " refused_busy=" + std::to_string(s.auth_refused_busy) +
         " refused_by_address=" + std::to_string(s.auth_refused_by_address) +
         " refused_oversize=" + std::to_string(s.auth_refused_oversize) + " expired=" + std::to_string(s.auth_expired);
}

}  // namespace

int main(int argc, char** argv) {
  if (!guard_process()) return 3;
  if (argc < 2) usage(program, "the first argument must be 'plain' or 'untrusted_curve'");
  const std::string kind = argv[1];
  if (kind != "plain" && kind != "untrusted_curve") usage(program, "the first argument must be 'plain' or 'untrusted_curve'");
  std::string user, hash_cost = "interactive", secret_key, trusted_secret, trusted_client;
  for (int i = 2; i < argc; ++i) {
    const std::string option = argv[i];
    if (i + 1 >= argc) usage(program, "an option is missing its value");
    if (option == "--user") {
      user = argv[++i];
    } else if (option == "--hash-cost") {
      hash_cost = argv[++i];
    } else if (option == "--secret-key") {
      secret_key = argv[++i];
    } else if (option == "--trusted" && i + 2 < argc) {
      trusted_secret = argv[++i];
      trusted_client = argv[++i];
    } else {
      usage(program, "unknown option");
    }
  }
  if (user.empty()) usage(program, "--user is required");
  if (kind == "untrusted_curve" && secret_key.empty()) usage(program, "untrusted_curve needs --secret-key");

  if (const char* level = std::getenv("PSEUD_AUTH_SERVER_LOG"); level && *level) {
    // Diagnostics on stderr (which the tests inherit): PSEUD_AUTH_SERVER_LOG=debug|info.
    pseud::set_log_handler(
        [](pseud::LogLevel, std::string_view message) {
          std::fprintf(stderr, "auth_server: %.*s\n", static_cast<int>(message.size()), message.data());
        },
        std::string_view(level) == "debug" ? pseud::LogLevel::debug : pseud::LogLevel::info);
  }
  Shutdown shutdown;
  try {
    std::vector<std::pair<std::string, std::unique_ptr<pseud::Server>>> servers;
    pseud::PeerOptions options;
    if (kind == "plain") {
      options.auth = {"plain", {{"user", user}, {"hash_cost", hash_cost}, {"encrypted_link", "true"}}};
    } else {
      options.auth = {"untrusted_curve", {{"user", user}, {"hash_cost", hash_cost}, {"secret_key", secret_key}}};
    }
    servers.emplace_back("server", std::make_unique<pseud::Server>("server", options));
    if (!trusted_secret.empty()) {
      pseud::PeerOptions trusted;
      trusted.auth = {"trusted_curve", {{"secret_key", trusted_secret}, {"trust", "friend=" + trusted_client}}};
      servers.emplace_back("trusted", std::make_unique<pseud::Server>("trusted", trusted));
    }
    for (auto& [name, server] : servers) {
      server->register_rpc("ping", [] { return std::string("pong"); });
      server->register_rpc(
          "sleep",
          [&shutdown](double seconds) {
            shutdown.wait(std::chrono::duration<double>(std::clamp(seconds, 0.0, 10.0)));
            return seconds;
          },
          {.blocking = true});
      write_line("endpoint " + name + " " + server->bind("tcp://127.0.0.1:*"));
    }
    write_line("ready");

    std::string line;
    while (std::getline(std::cin, line)) {
      if (line == "quit") break;
      if (line == "stats") {
        for (auto& [name, server] : servers) write_line(stats_line(name, server->stats()));
        write_line("end");
      }
    }
    shutdown.request();
    for (auto& [name, server] : servers) server->stop();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "auth_server: %s\n", e.what());
    shutdown.request();
    return 2;
  }
  return 0;
}
