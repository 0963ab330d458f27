#pragma once
// The pseud tool's subcommands. Each add_*() declares one on the tool's
// command line (CLI11) and returns how to run it; running returns the
// process exit status.

#include <CLI/CLI.hpp>

#include "cli/command_options.hpp"

namespace pseud::cli {

Command add_call(CLI::App& tool);
Command add_inspect(CLI::App& tool);
Command add_stats(CLI::App& tool);
Command add_serve(CLI::App& tool);
Command add_health(CLI::App& tool);
Command add_discover(CLI::App& tool);
Command add_emit(CLI::App& tool);
Command add_subscribe(CLI::App& tool);
Command add_relay(CLI::App& tool);
Command add_plugin(CLI::App& tool);
Command add_keygen(CLI::App& tool);

/// Blocks SIGINT and SIGTERM in this thread (and the threads it starts), so
/// wait_for_signal() can take them. Call before any peer exists.
void block_stop_signals();
/// Waits for SIGINT or SIGTERM, at most `seconds` (negative: no limit). True if a signal came.
bool wait_for_signal(double seconds);
/// Blocks until `signal_number`, or (0) SIGINT or SIGTERM, arrives; returns which did.
int take_signal(int signal_number = 0);

}  // namespace pseud::cli
