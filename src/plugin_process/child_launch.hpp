#pragma once
// Starting a plugin's process: fork and exec with its descriptors, process
// group, death signal and signal state set between the two, and exec failures
// reported to the host instead of lost.

#include <sys/types.h>

#include <string>
#include <vector>

#include "plugin_process/unique_fd.hpp"

namespace pseud::detail {

struct ChildPlan {
  std::string program;                   ///< a path (resolve_program)
  int program_fd = -1;                   ///< when set, exec this open file instead (a pinned program)
  std::vector<std::string> argv;
  std::vector<std::string> environment;  ///< the whole environment, KEY=VALUE each
};

struct LaunchedChild {
  pid_t pid = -1;
  UniqueFd pidfd;           ///< readable once the child has exited
  UniqueFd stdout_read;     ///< the child's descriptor 1
  UniqueFd stderr_read;     ///< ... 2
  UniqueFd handshake_read;  ///< ... 3
};

/// The program to exec for argv[0]: itself when it holds a '/', else the first
/// executable of that name on PATH. Throws PluginError when there is none.
std::string resolve_program(const std::string& argv0);

/// This process's environment without the variables `replaced` names (each
/// "KEY=VALUE"; only the KEY matters), followed by `replaced`.
std::vector<std::string> environment_with(const std::vector<std::string>& replaced);

/// Forks and execs `plan`. The child gets /dev/null as 0, pipes as 1, 2 and
/// 3 and no other descriptor, a process group of its own, default signal
/// dispositions and an empty signal mask, and SIGTERM when the calling thread
/// ends (PR_SET_PDEATHSIG: call this on the thread that lives as long as the
/// child). It exits at once if this process died before that was set.
/// Throws PluginError when the pipes cannot be made or the exec fails (with
/// the exec's reason); the child is reaped in that case.
LaunchedChild launch_child(const ChildPlan& plan);

}  // namespace pseud::detail
