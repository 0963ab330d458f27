// pseud-load run: the orchestrator. Runs the scenarios, prints the report,
// and with --check exits 1 when a target is missed.
//
//   pseud-load run [--peers N] [--processes P] [--real-peers M] [--payload B]
//       [--idle-ms MS] [--warmup-ms MS] [--load-ms MS] [--backlog N]
//       [--no-curve] [--only NAME[,NAME...]] [--check] [--correctness-only]
//       [--limit-s S]
//
// Scenarios (NAME for --only), all over tcp://127.0.0.1. Peers are simulated
// by raw-ZMTP clients (zmtp_fleet.cpp) for plain connections and by libzmq
// sockets (zmq_fleet.cpp) for CURVE:
//   floor-plain            the raw-libzmq floor server
//   pseud-plain-noop       pseud::Server, noop auth, noop heartbeat
//   pseud-plain-liveness   pseud::Server, noop auth, liveness at its default interval (1 s);
//                          with pseud-plain-noop also loaded in the same window as it
//   pseud-curve-liveness   pseud::Server, trusted_curve, liveness
//   floor-curve            the floor with CURVE and a ZAP handler
//   cross-check            pseud-plain-liveness with M real pseud::Client objects, and
//                          with M clients of each simulator
// Only when named: pseud-plain-noop-zmq and floor-plain-zmq (the full count over
// libzmq-socket clients), and aa (two pseud-plain-noop servers loaded together:
// the noise of the paired comparison).
// --check asserts every target; --correctness-only asserts only that every
// call was answered and nothing was left behind (for sanitizer builds).
// --backlog sets ZMQ_BACKLOG on both servers (the pseud one through
// PeerOptions::configure_socket); by default each keeps its own default.
// Speed figures measured while other processes took more than 20 % of the
// CPUs are reported but judged inconclusive (the machine, not the library).
// Exit status: 0 all asserted checks met, 1 a check failed, 2 bad command
// line, 77 (meson: skipped) nothing failed but a missed speed target was
// measured on a busy machine.

#include <unistd.h>

#include <cstdio>
#include <set>
#include <sstream>

#include "args.hpp"
#include "child.hpp"
#include "clock.hpp"
#include "json_line.hpp"
#include "load.hpp"
#include "report.hpp"
#include "roles.hpp"
#include "scenario.hpp"

namespace pseud::load {

namespace {

// How long 10 000 CURVE peers get to have every first call answered.
constexpr std::int64_t curve_storm_limit_ms = 120000;

struct Plan {
  ScenarioSpec base;
  std::size_t real_peers = 200;
  bool curve = true;
  std::int64_t warmup_ms = 1000;
  std::int64_t load_ms = 3000;
  std::set<std::string> only;

  bool wants(const std::string& name) const { return only.empty() || only.count(name) > 0; }
  bool named(const std::string& name) const { return only.count(name) > 0; }
};

class Runner {
 public:
  Runner(const Plan& plan, const std::vector<KeyPair>& keys) : plan_(plan), keys_(keys) {}

  void solo(const ScenarioSpec& spec) {
    Scenario s(spec, keys_);
    if (s.start()) {
      s.idle();
      s.result().solo = run_load({&s}, plan_.warmup_ms, plan_.load_ms).at(0);
    }
    s.quit();
    s.stop();
    results_.push_back(s.result());
  }

  // Each loaded alone, then both in one window.
  void pair(const ScenarioSpec& a_spec, const ScenarioSpec& b_spec) {
    Scenario a(a_spec, keys_);
    Scenario b(b_spec, keys_);
    for (Scenario* s : {&a, &b}) {
      if (!s->start()) continue;
      s->idle();
      s->result().solo = run_load({s}, plan_.warmup_ms, plan_.load_ms).at(0);
    }
    // Loaded together only on a quiet enough machine: on a busy one, two full
    // loads at once push latency past the liveness limit and measure that instead.
    const auto quiet = [](Scenario& s) { return s.result().solo && s.result().solo->others_pct <= busy_machine_pct; };
    if (a.connected() && b.connected() && quiet(a) && quiet(b)) {
      const auto figures = run_load({&a, &b}, plan_.warmup_ms, plan_.load_ms);
      a.result().paired = figures[0];
      b.result().paired = figures[1];
    }
    for (Scenario* s : {&a, &b}) s->quit();
    for (Scenario* s : {&a, &b}) s->stop();
    results_.push_back(a.result());
    results_.push_back(b.result());
  }

  std::vector<ScenarioResult>& results() { return results_; }

 private:
  const Plan& plan_;
  const std::vector<KeyPair>& keys_;
  std::vector<ScenarioResult> results_;
};

void run_plan(const Plan& plan, Runner& runner) {
  auto spec = [&](auto&& adjust) {
    ScenarioSpec s = plan.base;
    adjust(s);
    return s;
  };
  const auto noop = spec([](ScenarioSpec&) {});
  const auto liveness = spec([](ScenarioSpec& s) { s.liveness = true; });
  if (plan.wants("floor-plain")) runner.solo(spec([](ScenarioSpec& s) { s.impl = "floor"; }));
  if (plan.wants("pseud-plain-noop") && plan.wants("pseud-plain-liveness")) {
    runner.pair(noop, liveness);
  } else if (plan.wants("pseud-plain-noop")) {
    runner.solo(noop);
  } else if (plan.wants("pseud-plain-liveness")) {
    runner.solo(liveness);
  }
  if (plan.curve && plan.wants("pseud-curve-liveness")) {
    // 10 000 CURVE handshakes queue for libzmq's one I/O thread: on a slow
    // 2-core machine even the floor took ~20 s, and 34 s with other work
    // taking half the CPUs (when pseud++ answered 9 620 first calls in 60 s).
    // Every first call must still be answered; the storm's time is reported,
    // not asserted.
    runner.solo(spec([](ScenarioSpec& s) { s.curve = true, s.liveness = true, s.clients = "zmq", s.connect_limit_ms = curve_storm_limit_ms; }));
  }
  if (plan.curve && plan.wants("floor-curve")) {
    runner.solo(spec([](ScenarioSpec& s) { s.impl = "floor", s.curve = true, s.clients = "zmq", s.connect_limit_ms = curve_storm_limit_ms; }));
  }
  if (plan.real_peers > 0 && plan.wants("cross-check")) {
    for (const char* kind : {"real", "zmtp", "zmq"}) {
      runner.solo(spec([&](ScenarioSpec& s) { s.liveness = true, s.clients = kind, s.peers = plan.real_peers; }));
    }
  }
  if (plan.named("pseud-plain-noop-zmq")) runner.solo(spec([](ScenarioSpec& s) { s.clients = "zmq"; }));
  if (plan.named("floor-plain-zmq")) runner.solo(spec([](ScenarioSpec& s) { s.impl = "floor", s.clients = "zmq"; }));
  if (plan.named("aa")) runner.pair(noop, noop);
}

}  // namespace

int run_role(int argc, char** argv) {
  Plan plan;
  bool check = false;
  bool correctness_only = false;
  unsigned limit_s = 600;
  try {
    const Args args(argc, argv, 0);
    args.only({"peers", "processes", "real-peers", "payload", "idle-ms", "warmup-ms", "load-ms", "backlog", "no-curve",
               "only", "check", "correctness-only", "limit-s"});
    plan.base.peers = static_cast<std::size_t>(args.number("peers", 10000));
    plan.base.processes = static_cast<std::size_t>(args.number("processes", 2));
    plan.base.payload = static_cast<std::size_t>(args.number("payload", 32));
    plan.base.idle_ms = args.number("idle-ms", 2000);
    plan.base.backlog = static_cast<std::size_t>(args.number("backlog", 0));
    plan.warmup_ms = args.number("warmup-ms", 1000);
    plan.load_ms = args.number("load-ms", 3000);
    plan.real_peers = static_cast<std::size_t>(args.number("real-peers", 200));
    plan.curve = !args.has("no-curve");
    std::istringstream names(args.text("only", ""));
    for (std::string name; std::getline(names, name, ',');) {
      if (!name.empty()) plan.only.insert(name);
    }
    check = args.has("check");
    correctness_only = args.has("correctness-only");
    limit_s = static_cast<unsigned>(args.number("limit-s", 600));
    if (plan.base.peers == 0 || plan.base.processes < 2) {
      throw std::invalid_argument("--peers must be > 0 and --processes >= 2");
    }
    if (plan.base.peers / plan.base.processes > 9000) {
      throw std::invalid_argument("at most 9000 peers per process: each holds up to two descriptors (limit 20000)");
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pseud-load run: %s\n", e.what());
    return 2;
  }
  plan.base.limit_s = limit_s;
  install_child_reaper();
  ::alarm(limit_s);  // SIGALRM kills every child, then this process

  const auto started = now_ns();
  std::vector<KeyPair> keys;
  if (plan.curve) keys = make_key_pairs(1 + std::max(plan.base.peers, plan.real_peers));  // the server's, then one per peer
  Runner runner(plan, keys);
  run_plan(plan, runner);

  const auto verdicts = report(runner.results(), Targets{});
  std::vector<std::string> met;
  std::vector<std::string> missed;
  std::vector<std::string> inconclusive;
  bool failed = false;
  bool unsure = false;
  for (const auto& v : verdicts) {
    const bool asserted = check && !v.reported_only && (!correctness_only || v.correctness);
    if (v.inconclusive && !v.met) {  // met on a busy machine counts as met
      inconclusive.push_back(v.target);
      unsure = unsure || asserted;
      continue;
    }
    (v.met ? met : missed).push_back(v.target + (v.inconclusive ? " (on a busy machine)" : "") +
                                     (asserted ? "" : " (not asserted)"));
    failed = failed || (asserted && !v.met);
  }
  std::printf("%s\n", JsonLine()
                          .texts("met", met)
                          .texts("missed", missed)
                          .texts("inconclusive_machine_busy", inconclusive)
                          .number("wall_s", static_cast<double>(now_ns() - started) / 1e9, 1)
                          .boolean("passed", !failed && !unsure)
                          .str()
                          .c_str());
  // 77: meson's "skipped": nothing failed, but a speed target could not be judged here.
  return failed ? 1 : unsure ? 77 : 0;
}

}  // namespace pseud::load
