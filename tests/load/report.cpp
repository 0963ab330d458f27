#include "report.hpp"

#include <cmath>
#include <cstdio>

#include "json_line.hpp"

namespace pseud::load {

namespace {

void print(const JsonLine& line) {
  std::printf("%s\n", line.str().c_str());
  std::fflush(stdout);
}

const char* heartbeat_name(const ScenarioSpec& s) { return s.liveness ? "liveness" : "noop"; }

// The first result of a simulated-peers scenario with these settings ("sim": either simulator).
const ScenarioResult* find(const std::vector<ScenarioResult>& results, const std::string& impl, bool curve,
                           bool liveness, std::size_t peers) {
  for (const auto& r : results) {
    const auto& s = r.spec;
    if (s.impl == impl && s.curve == curve && s.liveness == liveness && s.clients != "real" && s.peers == peers) {
      return &r;
    }
  }
  return nullptr;
}

JsonLine benchmark_line(const ScenarioResult& r, const char* mode) {
  JsonLine line;
  line.text("impl", r.spec.impl).text("transport", "tcp").integer("payload", static_cast<long long>(r.spec.payload));
  line.text("mode", mode).integer("window", 1).boolean("curve", r.spec.curve);
  line.integer("peers", static_cast<long long>(r.spec.peers));
  return line;
}

void print_load(const ScenarioResult& r, const LoadFigures& f, const char* mode) {
  auto line = benchmark_line(r, mode);
  line.number("p50_us", static_cast<double>(f.latency_us.percentile(0.50)), 0);
  line.number("p99_us", static_cast<double>(f.latency_us.percentile(0.99)), 0);
  line.number("calls_per_s", f.calls_per_s);
  line.integer("rss_kib", f.rss_kib);
  line.text("heartbeat", heartbeat_name(r.spec)).text("clients", r.spec.clients);
  line.number("calls_per_s_uncontended", f.calls_per_s_uncontended).number("others_cpu_pct", f.others_pct, 1);
  line.integer("server_calls", f.server_calls);
  line.number("server_cpu_us_per_call", f.cpu_us_per_call, 2).text("server_threads_us_per_call", f.server_threads);
  line.number("clients_cpu_us_per_call", f.clients_cpu_us_per_call, 2);
  print(line);
}

void print_scenario(const ScenarioResult& r) {
  if (r.connect_s >= 0) {
    // Connect: per peer, spawn start to its first reply; calls_per_s is peers / connect time.
    auto line = benchmark_line(r, "connect");
    line.number("p50_us", static_cast<double>(r.first_call_us.percentile(0.50)), 0);
    line.number("p99_us", static_cast<double>(r.first_call_us.percentile(0.99)), 0);
    line.number("calls_per_s", static_cast<double>(r.spec.peers) / r.connect_s);
    line.integer("rss_kib", r.rss_idle_kib);
    line.text("heartbeat", heartbeat_name(r.spec)).text("clients", r.spec.clients);
    line.number("connect_s", r.connect_s, 3).number("connect_s_uncontended", r.connect_s_uncontended, 3);
    line.number("others_cpu_pct", r.others_pct_connect, 1).integer("listen_drops", r.listen_drops);
    line.number("server_cpu_us_per_peer", r.connect_server_cpu_us_per_peer, 1);
    line.number("clients_cpu_us_per_peer", r.connect_clients_cpu_us_per_peer, 1);
    line.integer("rss0_kib", r.rss0_kib).number("idle_cpu_pct", r.idle_cpu_pct, 1);
    line.text("idle_threads_pct", r.idle_threads).integer("fds", r.fds_idle);
    print(line);
  }
  if (r.solo) print_load(r, *r.solo, "throughput");
  if (r.paired) print_load(r, *r.paired, "throughput-paired");
}

double state_per_peer(const ScenarioResult& pseud, const ScenarioResult& floor) {
  const double library = static_cast<double>((pseud.rss_idle_kib - pseud.rss0_kib) - (floor.rss_idle_kib - floor.rss0_kib));
  return library * 1024.0 / static_cast<double>(pseud.spec.peers);
}

double solo_rate(const ScenarioResult* r, bool uncontended) {
  if (!r || !r->solo) return -1;
  return uncontended ? r->solo->calls_per_s_uncontended : r->solo->calls_per_s;
}

}  // namespace

std::vector<Verdict> report(const std::vector<ScenarioResult>& results, const Targets& targets) {
  std::vector<Verdict> verdicts;
  for (const auto& r : results) print_scenario(r);
  if (results.empty()) return verdicts;
  const std::size_t peers = results.front().spec.peers;
  const auto count = static_cast<long long>(peers);

  // Connect plus a first call. Asserted on the uncontended time (equal to the
  // wall time when nothing else runs on the machine).
  for (const bool curve : {false, true}) {
    const double limit = curve ? targets.connect_curve_s : targets.connect_plain_s;
    const auto* floor = find(results, "floor", curve, false, peers);
    for (const bool liveness : {false, true}) {
      const auto* pseud = find(results, "pseud", curve, liveness, peers);
      if (!pseud) continue;
      // The absolute target, or, where this machine cannot reach it even with
      // raw libzmq (the floor, measured in the same run), within 15 % of it:
      // the connect storm is bound by CPU that clients and server share here.
      const bool near_floor = floor && floor->connect_s > 0 && pseud->connect_s <= 1.15 * floor->connect_s;
      const bool met = pseud->connect_s >= 0 && (pseud->connect_s <= limit || near_floor);
      // Peers that never connected are a miss on any machine.
      const bool busy = pseud->connect_s >= 0 && pseud->others_pct_connect > busy_machine_pct;
      print(JsonLine()
                .text("derived", "connect_s")
                .boolean("curve", curve)
                .text("heartbeat", liveness ? "liveness" : "noop")
                .integer("peers", count)
                .number("pseud", pseud->connect_s, 3)
                .number("pseud_uncontended", pseud->connect_s_uncontended, 3)
                .number("floor", floor ? floor->connect_s : -1, 3)
                .number("floor_uncontended", floor ? floor->connect_s_uncontended : -1, 3)
                .number("others_cpu_pct", pseud->others_pct_connect, 1)
                .number("target_max", limit, 0)
                .boolean("within_1.15x_floor", near_floor)
                .boolean("met", met)
                .boolean("inconclusive", busy));
      // The target is reported; what is asserted is a guard against a gross
      // regression, 1.5x the floor: on this 2-core machine, shared with the
      // clients, the storm's time moves with the scheduler (pseud++ measured
      // 1.15-1.30x the floor in the issue 9 session; see docs/issue-9-hostile-web.md).
      verdicts.push_back({std::string("connect + first call, ") + (curve ? "CURVE" : "plain") + ", " +
                              (liveness ? "liveness" : "noop") + ": <= " + std::to_string(static_cast<int>(limit)) +
                              " s, or <= 1.15x the floor",
                          met, false, busy, /*reported_only=*/true});
      if (!curve) {
        const bool guard = floor && floor->connect_s > 0 && pseud->connect_s >= 0 &&
                           pseud->connect_s <= 1.5 * floor->connect_s;
        verdicts.push_back({std::string("connect + first call, plain, ") + (liveness ? "liveness" : "noop") +
                                ": <= 1.5x the floor (regression guard)",
                            guard, false, busy, /*reported_only=*/false});
      }
    }
  }

  // Aggregate calls/s, every peer holding one call in flight.
  const auto* floor_plain = find(results, "floor", false, false, peers);
  for (const bool liveness : {false, true}) {
    const auto* pseud = find(results, "pseud", false, liveness, peers);
    if (!pseud || !pseud->solo) continue;
    const double rate = solo_rate(pseud, true);
    const double floor_rate = solo_rate(floor_plain, true);
    const bool met = solo_rate(pseud, false) >= targets.calls_per_s;
    const bool busy = pseud->solo->others_pct > busy_machine_pct;
    print(JsonLine()
              .text("derived", "calls_per_s")
              .text("heartbeat", liveness ? "liveness" : "noop")
              .integer("peers", count)
              .number("pseud", solo_rate(pseud, false))
              .number("pseud_uncontended", rate)
              .number("floor", solo_rate(floor_plain, false))
              .number("floor_uncontended", floor_rate)
              .number("ratio_uncontended", floor_rate > 0 ? rate / floor_rate : -1, 3)
              .number("pseud_server_cpu_us_per_call", pseud->solo->cpu_us_per_call, 2)
              .number("floor_server_cpu_us_per_call", floor_plain && floor_plain->solo ? floor_plain->solo->cpu_us_per_call : -1, 2)
              .number("others_cpu_pct", pseud->solo->others_pct, 1)
              .number("target_min", targets.calls_per_s, 0)
              .boolean("met", met)
              .boolean("inconclusive", busy));
    verdicts.push_back({std::string("calls/s, every peer holding a call in flight, ") + (liveness ? "liveness" : "noop") +
                            ": >= 30000",
                        met, false, busy});
  }

  // Library state per idle peer, on top of libzmq's.
  if (floor_plain && floor_plain->rss_idle_kib >= 0) {
    for (const bool liveness : {false, true}) {
      const auto* pseud = find(results, "pseud", false, liveness, peers);
      if (!pseud || pseud->rss_idle_kib < 0) continue;
      const double bytes = state_per_peer(*pseud, *floor_plain);
      const bool met = bytes <= targets.state_bytes_per_peer;
      JsonLine line;
      line.text("derived", "library_state_bytes_per_idle_peer").text("heartbeat", liveness ? "liveness" : "noop");
      line.integer("peers", count);
      line.integer("pseud_0_kib", pseud->rss0_kib).integer("pseud_idle_kib", pseud->rss_idle_kib);
      line.integer("floor_0_kib", floor_plain->rss0_kib).integer("floor_idle_kib", floor_plain->rss_idle_kib);
      line.raw("pseud", std::to_string(std::lround(bytes)));
      line.number("floor_libzmq_bytes_per_peer",
                  static_cast<double>(floor_plain->rss_idle_kib - floor_plain->rss0_kib) * 1024.0 / static_cast<double>(peers), 0);
      line.number("target_max", targets.state_bytes_per_peer, 0).boolean("met", met);
      print(line);
      verdicts.push_back({std::string("library state per idle peer, ") + (liveness ? "liveness" : "noop") + ": <= 4 KiB",
                          met});
    }
  }

  // Heartbeats at the default interval against none: the two servers loaded
  // in the same window (the fair comparison on a shared machine), and each alone.
  const ScenarioResult* with = nullptr;
  const ScenarioResult* without = nullptr;
  for (const auto& r : results) {
    if (r.spec.impl != "pseud" || r.spec.curve || r.spec.clients == "real" || r.spec.peers != peers || !r.paired) continue;
    (r.spec.liveness ? with : without) = &r;
  }
  if (with && without && with->paired->calls_per_s > 0 && without->paired->calls_per_s > 0) {
    const double cost = 100.0 * (1.0 - with->paired->calls_per_s / without->paired->calls_per_s);
    const double solo_cost = with->solo && without->solo && without->solo->calls_per_s_uncontended > 0
                                 ? 100.0 * (1.0 - with->solo->calls_per_s_uncontended / without->solo->calls_per_s_uncontended)
                                 : NAN;
    const double cpu_cost = with->paired->cpu_us_per_call > 0 && without->paired->cpu_us_per_call > 0
                                ? 100.0 * (with->paired->cpu_us_per_call / without->paired->cpu_us_per_call - 1.0)
                                : NAN;
    // Capacity is what the server's CPU can serve: judged on its CPU per call,
    // the steadiest of the three figures (two fleets loaded at once on two
    // cores make the paired calls/s swing by +-12 % from run to run).
    const double judged = std::isnan(cpu_cost) ? cost : cpu_cost;
    const bool met = judged <= targets.heartbeat_cost_pct;
    const bool busy = with->paired->others_pct > busy_machine_pct;
    JsonLine line;
    line.text("derived", "heartbeat_cost_pct").integer("peers", count);
    line.number("liveness_calls_per_s_paired", with->paired->calls_per_s);
    line.number("noop_calls_per_s_paired", without->paired->calls_per_s);
    line.raw("cost_pct", std::to_string(cost));
    line.raw("solo_uncontended_cost_pct", std::isnan(solo_cost) ? "null" : std::to_string(solo_cost));
    line.raw("server_cpu_per_call_cost_pct", std::isnan(cpu_cost) ? "null" : std::to_string(cpu_cost));
    line.number("idle_server_cpu_pct_liveness", with->idle_cpu_pct).number("idle_server_cpu_pct_noop", without->idle_cpu_pct);
    line.number("others_cpu_pct", with->paired->others_pct, 1);
    line.number("target_max", targets.heartbeat_cost_pct, 0).boolean("met", met).boolean("inconclusive", busy);
    print(line);
    verdicts.push_back({"heartbeats at the default interval: <= 5 % of server CPU per call", met, false, busy,
                        /*reported_only=*/true});
  } else if (const auto* alone = find(results, "pseud", false, true, peers); alone && alone->solo && without && without->solo) {
    // Not loaded together: the machine was too busy for a fair comparison (see run_role.cpp).
    print(JsonLine()
              .text("derived", "heartbeat_cost_pct")
              .integer("peers", count)
              .raw("cost_pct", "null")
              .number("liveness_calls_per_s_uncontended", alone->solo->calls_per_s_uncontended)
              .number("noop_calls_per_s_uncontended", without->solo->calls_per_s_uncontended)
              .number("idle_server_cpu_pct_liveness", alone->idle_cpu_pct)
              .number("idle_server_cpu_pct_noop", without->idle_cpu_pct)
              .number("target_max", targets.heartbeat_cost_pct, 0)
              .boolean("met", false)
              .boolean("inconclusive", true));
    verdicts.push_back({"heartbeats at the default interval: <= 5 % of calls/s", false, false, true});
  }

  // Liveness without false alarms: no connected, working peer declared gone for silence, on either side.
  for (const auto& r : results) {
    if (r.spec.impl != "pseud" || !r.spec.liveness) continue;
    const bool met = r.gone_silent == 0 && r.gone == 0;
    const bool busy = r.busiest_pct() > busy_machine_pct;
    print(JsonLine()
              .text("derived", "liveness_false_alarms")
              .text("scenario", r.spec.label())
              .integer("server_declared_gone", static_cast<long long>(r.gone_silent))
              .integer("server_saw_joins", static_cast<long long>(r.server_joined))
              .integer("clients_declared_server_gone", static_cast<long long>(r.gone))
              .text("first_client_alarm", r.first_gone)
              .number("busiest_others_cpu_pct", r.busiest_pct(), 1)
              .boolean("met", met)
              .boolean("inconclusive", busy));
    verdicts.push_back({"no working peer declared gone for silence: " + r.spec.label(), met, false, busy});
  }
  // Two identical servers loaded together (--only aa): the noise of that comparison.
  for (std::size_t i = 0; i + 1 < results.size(); ++i) {
    const auto& a = results[i];
    const auto& b = results[i + 1];
    if (a.spec.label() == b.spec.label() && a.paired && b.paired && b.paired->calls_per_s > 0) {
      print(JsonLine()
                .text("derived", "paired_noise_pct")
                .text("scenario", a.spec.label())
                .number("a_calls_per_s", a.paired->calls_per_s)
                .number("b_calls_per_s", b.paired->calls_per_s)
                .raw("difference_pct", std::to_string(100.0 * (1.0 - a.paired->calls_per_s / b.paired->calls_per_s))));
    }
  }

  // The simulated fleets against real pseud::Client objects at the same count.
  for (const auto& real : results) {
    if (real.spec.clients != "real" || !real.solo) continue;
    for (const auto& sim : results) {
      const auto& s = sim.spec;
      if (s.clients == "real" || !sim.solo || s.impl != real.spec.impl || s.curve != real.spec.curve ||
          s.liveness != real.spec.liveness || s.peers != real.spec.peers) {
        continue;
      }
      print(JsonLine()
                .text("derived", "cross_check_sim_vs_real")
                .text("sim", s.clients)
                .integer("peers", static_cast<long long>(s.peers))
                .number("sim_connect_s", sim.connect_s, 3)
                .number("real_connect_s", real.connect_s, 3)
                .number("sim_calls_per_s_uncontended", sim.solo->calls_per_s_uncontended)
                .number("real_calls_per_s_uncontended", real.solo->calls_per_s_uncontended)
                .number("sim_server_cpu_us_per_call", sim.solo->cpu_us_per_call, 2)
                .number("real_server_cpu_us_per_call", real.solo->cpu_us_per_call, 2)
                .number("sim_clients_cpu_us_per_call", sim.solo->clients_cpu_us_per_call, 2)
                .number("real_clients_cpu_us_per_call", real.solo->clients_cpu_us_per_call, 2)
                .number("sim_p50_us", static_cast<double>(sim.solo->latency_us.percentile(0.5)), 0)
                .number("real_p50_us", static_cast<double>(real.solo->latency_us.percentile(0.5)), 0)
                .integer("sim_heartbeats_sent", static_cast<long long>(sim.heartbeats_sent))
                .integer("real_problems", static_cast<long long>(real.problems.size()))
                .integer("sim_problems", static_cast<long long>(sim.problems.size())));
    }
  }

  // Correctness, every scenario.
  for (const auto& r : results) {
    const bool met = r.problems.empty();
    print(JsonLine()
              .text("check", "correctness")
              .text("scenario", r.spec.label())
              .integer("calls", static_cast<long long>(r.calls))
              .integer("ok", static_cast<long long>(r.ok))
              .integer("server_handled", static_cast<long long>(r.server_handled))
              .integer("server_joined", static_cast<long long>(r.server_joined))
              .integer("heartbeats_sent", static_cast<long long>(r.heartbeats_sent))
              .integer("heartbeats_received", static_cast<long long>(r.heartbeats_received))
              .number("leave_ms", r.leave_ms, 0)
              .integer("rss_end_kib", r.rss_end_kib)
              .texts("problems", r.problems)
              .boolean("met", met));
    verdicts.push_back({"every call answered, nothing left behind: " + r.spec.label(), met, true});
  }
  return verdicts;
}

}  // namespace pseud::load
