#include "proc_stats.hpp"

#include <dirent.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

namespace pseud::load {

std::optional<long> rss_kib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return std::nullopt;
}

namespace {

// Time on CPU of one task in nanoseconds: the first field of its schedstat.
std::optional<std::int64_t> schedstat_ns(const std::string& task) {
  std::ifstream stat(task + "/schedstat");
  long long ns = 0;
  if (!(stat >> ns)) return std::nullopt;
  return ns;
}

// Calls `visit(comm, cpu_ns)` for every thread of `pid`.
template <class Visit>
bool for_each_thread(pid_t pid, Visit&& visit) {
  const std::string base = "/proc/" + std::to_string(pid) + "/task";
  DIR* dir = ::opendir(base.c_str());
  if (!dir) return false;
  while (const dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] == '.') continue;
    const std::string task = base + "/" + entry->d_name;
    std::ifstream comm(task + "/comm");
    std::string name;
    std::getline(comm, name);
    if (const auto ns = schedstat_ns(task)) visit(name, *ns);
  }
  ::closedir(dir);
  return true;
}

}  // namespace

std::string thread_cpu(pid_t pid) {
  std::map<std::string, std::int64_t> by_name;
  for_each_thread(pid, [&](std::string name, std::int64_t ns) {
    for (char& c : name) {
      if (c == ' ' || c == ',' || c == ':') c = '_';
    }
    by_name[name] += ns;
  });
  std::string out;
  for (const auto& [name, ns] : by_name) out += (out.empty() ? "" : ",") + name + ":" + std::to_string(ns);
  return out.empty() ? "-" : out;
}

std::map<std::string, double> parse_thread_cpu(const std::string& text) {
  std::map<std::string, double> out;
  std::istringstream items(text);
  for (std::string item; std::getline(items, item, ',');) {
    const auto colon = item.rfind(':');
    if (colon != std::string::npos && colon + 1 < item.size()) out[item.substr(0, colon)] = std::stod(item.substr(colon + 1));
  }
  return out;
}

std::optional<std::int64_t> listen_drops() {
  std::ifstream netstat("/proc/net/netstat");
  std::string names;
  std::string values;
  while (std::getline(netstat, names) && std::getline(netstat, values)) {
    if (names.rfind("TcpExt:", 0) != 0) continue;
    std::istringstream n(names);
    std::istringstream v(values);
    std::string name;
    std::string value;
    std::int64_t total = 0;
    while (n >> name && v >> value) {
      if (name == "ListenOverflows" || name == "ListenDrops") total += std::stoll(value);
    }
    return total;
  }
  return std::nullopt;
}

std::optional<std::int64_t> cpu_ns(pid_t pid) {
  std::int64_t total = 0;
  if (!for_each_thread(pid, [&](const std::string&, std::int64_t ns) { total += ns; })) return std::nullopt;
  return total;
}

std::optional<MachineCpu> machine_cpu() {
  std::ifstream stat("/proc/stat");
  std::string line;
  MachineCpu out;
  bool found = false;
  int cpus = 0;
  const auto tick_ns = 1'000'000'000LL / ::sysconf(_SC_CLK_TCK);
  while (std::getline(stat, line)) {
    if (line.rfind("cpu ", 0) == 0) {
      std::istringstream fields(line.substr(4));
      long long value = 0;
      for (int i = 0; i < 8 && fields >> value; ++i) {  // user nice system idle iowait irq softirq steal
        out.total_ns += value * tick_ns;
        if (i != 3 && i != 4) out.busy_ns += value * tick_ns;
      }
      found = true;
    } else if (line.rfind("cpu", 0) == 0) {
      ++cpus;
    }
  }
  out.cpus = cpus > 0 ? cpus : 1;
  if (!found) return std::nullopt;
  return out;
}

std::optional<long> open_fds(pid_t pid) {
  const std::string path = "/proc/" + std::to_string(pid) + "/fd";
  DIR* dir = ::opendir(path.c_str());
  if (!dir) return std::nullopt;
  long count = 0;
  while (const dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] != '.') ++count;
  }
  ::closedir(dir);
  return pid == ::getpid() ? count - 1 : count;  // not counting opendir's own descriptor
}

}  // namespace pseud::load
