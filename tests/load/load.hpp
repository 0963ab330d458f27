#pragma once
// The load phase, for one scenario or for several at once: every peer of each
// keeps one call in flight from now until warm-up + duration; the figures
// cover the window after the warm-up. Loading two scenarios in the same
// window compares them under the same conditions: whatever else the machine
// runs meanwhile slows both alike.

#include <sys/types.h>

#include <cstdint>
#include <vector>

#include "scenario.hpp"

namespace pseud::load {

/// Loads `scenarios` together; returns each one's figures, in order.
std::vector<LoadFigures> run_load(const std::vector<Scenario*>& scenarios, std::int64_t warmup_ms,
                                  std::int64_t duration_ms);

/// With PSEUD_LOAD_CALLGRIND set (servers running under callgrind through
/// PSEUD_LOAD_SERVER_WRAPPER): "callgrind_control WHAT PID", e.g. "-z" (zero) or "-d" (dump).
void callgrind_control(const char* what, pid_t server);

/// CPU time of the machine and of this process tree at one moment.
struct CpuSnapshot {
  std::int64_t at_ns = 0;
  std::int64_t machine_busy_ns = 0;
  std::int64_t ours_ns = 0;  ///< this process and every live child
  int cpus = 1;
};
CpuSnapshot cpu_snapshot();
/// Other processes' CPU time between two snapshots, in ns (never negative).
std::int64_t others_ns(const CpuSnapshot& a, const CpuSnapshot& b);

}  // namespace pseud::load
