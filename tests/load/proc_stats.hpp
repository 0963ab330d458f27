#pragma once
// What /proc says about a process: resident memory, CPU time, open files.

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace pseud::load {

/// VmRSS of `pid` in KiB (from /proc/<pid>/status), or nullopt.
std::optional<long> rss_kib(pid_t pid);

/// Time `pid` spent on a CPU, all its threads, in nanoseconds (from
/// /proc/<pid>/task/*/schedstat, nanosecond-precise), or nullopt.
std::optional<std::int64_t> cpu_ns(pid_t pid);

/// CPU time of each thread of `pid` as "name:ns,name:ns,..." (names from
/// /proc/<pid>/task/<tid>/comm, blanks replaced; threads of one name summed).
/// libzmq names its I/O thread "ZMQbg/IO/0"; pseud's engine thread keeps the program's name.
std::string thread_cpu(pid_t pid);

/// thread_cpu() text back as name -> ns.
std::map<std::string, double> parse_thread_cpu(const std::string& text);

/// TcpExt ListenOverflows + ListenDrops of this network namespace (/proc/net/netstat):
/// connection attempts a full accept queue turned away.
std::optional<std::int64_t> listen_drops();

/// CPU time of the whole machine from /proc/stat, in nanoseconds summed over all CPUs.
struct MachineCpu {
  std::int64_t busy_ns = 0;   ///< everything but idle and iowait
  std::int64_t total_ns = 0;
  int cpus = 1;
};
std::optional<MachineCpu> machine_cpu();

/// How many descriptors `pid` has open (entries of /proc/<pid>/fd), or nullopt.
std::optional<long> open_fds(pid_t pid);

}  // namespace pseud::load
