#pragma once
// Child processes: spawned with pipes to their stdin and from their stdout,
// read with bounded waits, and never left behind. Every live child is listed
// so that a fatal signal or std::terminate in this process SIGKILLs it;
// children in turn die with us (die_with_parent) and the destructor kills and
// reaps them.

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bench {

/// This executable's path (/proc/self/exe resolved), for spawning our own roles.
std::string self_path();

/// Installs handlers (SIGINT, SIGTERM, SIGHUP, std::terminate) that kill every
/// live child before this process dies. Call once, early.
void install_child_cleanup();

/// In a child: die (SIGKILL) when the parent does; exits at once if
/// `parent` is already gone.
void die_with_parent(pid_t parent);

class Child {
 public:
  /// Spawns `path` with `args`; stderr is inherited. Throws std::runtime_error.
  Child(const std::string& path, const std::vector<std::string>& args);
  ~Child();
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const noexcept { return pid_; }

  /// The next line of the child's stdout without its newline; nullopt on
  /// timeout or end of file (see eof()).
  std::optional<std::string> read_line(std::chrono::milliseconds timeout);
  bool eof() const noexcept { return eof_; }

  /// Writes all of `text` to the child's stdin (bounded); false on failure.
  bool write(std::string_view text, std::chrono::milliseconds timeout = std::chrono::milliseconds(2000));
  /// Closes the child's stdin: our roles take that as "stop".
  void close_stdin();

  /// Waits for the child to exit: its exit status, or 128 + signal; nullopt on timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  /// SIGKILLs and reaps the child (no-op once reaped).
  void kill();

 private:
  void reaped(int status);

  pid_t pid_ = -1;
  int stdin_ = -1;
  int stdout_ = -1;
  std::string buffer_;
  bool eof_ = false;
  std::optional<int> status_;
};

}  // namespace bench
