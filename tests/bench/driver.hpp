#pragma once
// The driver: runs every configuration's repetitions in fresh child
// processes, interleaving the floor and pseud, and prints the JSON lines.

#include "options.hpp"

namespace bench {

/// Runs the matrix; returns the exit status (0, or 1 when a repetition failed).
int run_driver(const Options& options);

}  // namespace bench
