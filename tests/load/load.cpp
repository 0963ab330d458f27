#include "load.hpp"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "child.hpp"
#include "clock.hpp"
#include "proc_stats.hpp"

namespace pseud::load {

namespace {

constexpr std::int64_t drain_ms = 10'000;  // calls still in flight at the end must be answered by then

// Waits until `deadline_ns`: the end of a measurement window, not a synchronisation.
void wait_until(std::int64_t deadline_ns) {
  while (now_ns() < deadline_ns) ::poll(nullptr, 0, ms_until(deadline_ns));
}

// "name:ns,..." at `end` minus at `start`, per call, as "name:us,...".
std::string per_call(const std::string& start, const std::string& end, double calls) {
  auto before = parse_thread_cpu(start);
  std::string out;
  for (const auto& [name, ns] : parse_thread_cpu(end)) {
    char text[64];
    std::snprintf(text, sizeof text, "%.2f", (ns - before[name]) / 1000.0 / calls);
    out += (out.empty() ? "" : ",") + name + ":" + text;
  }
  return out;
}

// The window's profile: zeroed when it opens, dumped when it closes.
void callgrind(const char* what, const std::vector<Scenario*>& scenarios) {
  for (auto* scenario : scenarios) callgrind_control(what, scenario->server_pid());
}

}  // namespace

void callgrind_control(const char* what, pid_t server) {
  if (!std::getenv("PSEUD_LOAD_CALLGRIND") || server <= 0) return;
  const std::string command = std::string("callgrind_control ") + what + " " + std::to_string(server) + " > /dev/null";
  if (std::system(command.c_str()) != 0) std::fprintf(stderr, "pseud-load: '%s' failed\n", command.c_str());
}

CpuSnapshot cpu_snapshot() {
  CpuSnapshot s;
  s.at_ns = now_ns();
  if (const auto machine = machine_cpu()) {
    s.machine_busy_ns = machine->busy_ns;
    s.cpus = machine->cpus;
  }
  s.ours_ns = cpu_ns(::getpid()).value_or(0);
  for (const pid_t pid : live_child_pids()) s.ours_ns += cpu_ns(pid).value_or(0);
  return s;
}

std::int64_t others_ns(const CpuSnapshot& a, const CpuSnapshot& b) {
  return std::max<std::int64_t>(0, (b.machine_busy_ns - a.machine_busy_ns) - (b.ours_ns - a.ours_ns));
}

std::vector<LoadFigures> run_load(const std::vector<Scenario*>& scenarios, std::int64_t warmup_ms,
                                  std::int64_t duration_ms) {
  std::vector<LoadFigures> figures(scenarios.size());
  const std::int64_t start = now_ns() + ms_to_ns(warmup_ms);
  const std::int64_t end = start + ms_to_ns(duration_ms);
  const std::int64_t drain = end + ms_to_ns(drain_ms);
  for (auto* scenario : scenarios) scenario->begin_load(start, end, drain);

  wait_until(start);
  callgrind("-z", scenarios);
  std::vector<std::optional<Scenario::ServerSample>> first;
  for (auto* scenario : scenarios) first.push_back(scenario->sample());
  const CpuSnapshot cpu_first = cpu_snapshot();
  wait_until(end);
  callgrind("-d", scenarios);
  std::vector<std::optional<Scenario::ServerSample>> last;
  for (auto* scenario : scenarios) last.push_back(scenario->sample());
  const CpuSnapshot cpu_last = cpu_snapshot();

  const double window_s = static_cast<double>(end - start) / 1e9;
  const double others = static_cast<double>(others_ns(cpu_first, cpu_last));
  const double others_pct =
      100.0 * others / (static_cast<double>(cpu_last.at_ns - cpu_first.at_ns) * cpu_last.cpus);
  const double effective_s = window_s - others / cpu_last.cpus / 1e9;
  for (std::size_t i = 0; i < scenarios.size(); ++i) {
    LoadFigures& f = figures[i];
    scenarios[i]->collect_load(f, drain);
    f.calls_per_s = static_cast<double>(f.in_window) / window_s;
    f.others_pct = others_pct;
    if (effective_s > 0) f.calls_per_s_uncontended = static_cast<double>(f.in_window) / effective_s;
    if (first[i] && last[i]) {
      const auto handled = static_cast<double>(last[i]->handled - first[i]->handled);
      f.rss_kib = last[i]->rss_kib;
      f.server_calls = last[i]->handled - first[i]->handled;
      if (handled > 0) {
        f.cpu_us_per_call = static_cast<double>(last[i]->cpu_ns - first[i]->cpu_ns) / 1000.0 / handled;
        f.server_threads = per_call(first[i]->threads, last[i]->threads, handled);
        f.clients_cpu_us_per_call =
            static_cast<double>(last[i]->clients_cpu_ns - first[i]->clients_cpu_ns) / 1000.0 / handled;
      }
    }
    std::fprintf(stderr, "pseud-load: %s: %.0f calls/s (%.0f uncontended; others took %.0f %% of the CPUs)%s\n",
                 scenarios[i]->result().spec.label().c_str(), f.calls_per_s, f.calls_per_s_uncontended, f.others_pct,
                 scenarios.size() > 1 ? ", loaded together" : "");
  }
  return figures;
}

}  // namespace pseud::load
