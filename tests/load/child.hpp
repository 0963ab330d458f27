#pragma once
// The load program's own child processes: it spawns itself (posix_spawn of
// /proc/self/exe) with a pipe to the child's stdin and one from its stdout.
// Every child is SIGKILLed and reaped by its Child's destructor, by the
// signal handlers install_child_reaper() sets (SIGTERM, SIGINT, SIGALRM,
// SIGHUP, SIGABRT), and by the kernel when this process dies
// (PR_SET_PDEATHSIG, set by guard_child_process()). No path leaves one behind.

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "line_io.hpp"

namespace pseud::load {

class Child {
 public:
  /// Spawns this program with `args` (argv[1..]), behind `wrapper` (blank-separated
  /// words, e.g. "valgrind --tool=callgrind") when not empty; throws std::runtime_error when it cannot.
  explicit Child(const std::vector<std::string>& args, const std::string& wrapper = {});
  ~Child();
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const noexcept { return pid_; }

  /// Writes a line (or raw bytes) to its stdin; false if it is gone.
  bool send(std::string_view line);
  bool send_bytes(std::string_view bytes);

  /// Its next stdout line, or nullopt at EOF or once `deadline_ns` passed.
  std::optional<std::string> line(std::int64_t deadline_ns) { return out_.line(deadline_ns); }

  /// Reads until a line starting with `prefix` (other lines are skipped), or nullopt.
  std::optional<std::string> expect(std::string_view prefix, std::int64_t deadline_ns);

  int stdout_fd() const noexcept { return out_.fd(); }
  bool has_line() const noexcept { return out_.has_line(); }

  /// Closes its stdin, waits for EOF on its stdout until `deadline_ns`, then
  /// reaps it (SIGKILL first if it is still there). Returns its wait status.
  int finish(std::int64_t deadline_ns);

  /// SIGKILL and reap; idempotent.
  void kill();

 private:
  void close_stdin();

  pid_t pid_ = -1;
  int stdin_ = -1;
  LineReader out_;
};

/// The pids of every live child of this process (spawned and not yet reaped).
std::vector<pid_t> live_child_pids();

/// In the parent: kill every live child on SIGTERM, SIGINT, SIGALRM, SIGHUP
/// and SIGABRT, then die of the signal. Call once, before the first spawn.
void install_child_reaper();

/// In a child: die with the parent (`parent`, which Child passes as the
/// trailing "--parent PID"), live at most `limit_seconds`. False when the
/// parent is already gone (then exit at once).
bool guard_child_process(pid_t parent, unsigned limit_seconds);

/// The exit status in `status`, or 128 + signal for a child that was killed.
int exit_code(int status);

}  // namespace pseud::load
