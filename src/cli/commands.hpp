#pragma once
// The pseud tool's subcommands. Each returns the process exit status.

#include <string>
#include <vector>

namespace pseud::cli {

int run_call(const std::vector<std::string>& words);
int run_serve(const std::vector<std::string>& words);
int run_inspect(const std::vector<std::string>& words);
int run_keygen(const std::vector<std::string>& words);
int run_discover(const std::vector<std::string>& words);
int run_health(const std::vector<std::string>& words);
int run_emit(const std::vector<std::string>& words);
int run_subscribe(const std::vector<std::string>& words);
int run_relay(const std::vector<std::string>& words);
int run_plugin(const std::vector<std::string>& words);

/// Blocks SIGINT and SIGTERM in this thread (and the threads it starts), so
/// wait_for_signal() can take them. Call before any peer exists.
void block_stop_signals();
/// Waits for SIGINT or SIGTERM, at most `seconds` (negative: no limit). True if a signal came.
bool wait_for_signal(double seconds);
/// Blocks until `signal_number`, or (0) SIGINT or SIGTERM, arrives; returns which did.
int take_signal(int signal_number = 0);

}  // namespace pseud::cli
