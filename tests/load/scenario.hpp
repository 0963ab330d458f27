#pragma once
// One scenario of the many-peers run: a server process (pseud or floor) and
// the client processes holding its peers, driven phase by phase:
//   start   the server binds; the peers connect and each makes a first call
//   idle    heartbeats only; the server's CPU and RSS are observed
//   load    every peer keeps one call in flight for a fixed time (see load.hpp;
//           two scenarios can be loaded in the same window)
//   quit    the peers leave; a pseud server must see every one go
//   stop    the server exits cleanly (its exit status catches leaks under ASan)
// Correctness problems are collected in the result, never thrown.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "child.hpp"
#include "histogram.hpp"
#include "keys.hpp"

namespace pseud::load {

struct ScenarioSpec {
  std::string impl = "pseud";   ///< pseud | floor
  bool curve = false;
  bool liveness = false;        ///< heartbeats at pseud's default interval on both sides, else noop
  std::string clients = "zmtp"; ///< zmtp (raw ZMTP, plain only) | zmq (libzmq sockets) | real (pseud::Client)
  std::size_t peers = 10000;
  std::size_t processes = 2;
  std::size_t payload = 32;
  std::size_t backlog = 0;      ///< ZMQ_BACKLOG for the server; 0: what the server does by default
  std::int64_t idle_ms = 2000;
  std::int64_t connect_limit_ms = 20000;
  unsigned limit_s = 300;       ///< hard lifetime of each child process

  std::string label() const;
};

/// What one load window measured for one scenario.
struct LoadFigures {
  double calls_per_s = -1;
  Histogram latency_us;
  std::uint64_t in_window = 0;
  std::int64_t server_calls = -1;       ///< calls the server answered in the window
  double cpu_us_per_call = -1;          ///< server CPU time per call answered in the window
  std::string server_threads;           ///< the same per server thread: "name:us,..."
  double clients_cpu_us_per_call = -1;  ///< all its client processes together
  double others_pct = -1;               ///< other processes' share of the machine's CPUs in the window, %
  /// calls_per_s as if the CPU time other processes took had been ours:
  /// calls / (window - others' CPU time / CPUs). Equal to calls_per_s on an idle machine.
  double calls_per_s_uncontended = -1;
  long rss_kib = -1;                    ///< server, at the end of the window
};

struct ScenarioResult {
  ScenarioSpec spec;
  std::vector<std::string> problems;  ///< correctness failures; empty when everything was answered

  double connect_s = -1;              ///< spawn start to the last first reply
  double connect_s_uncontended = -1;  ///< the same minus other processes' CPU time / CPUs
  double others_pct_connect = -1;
  std::int64_t listen_drops = -1;     ///< attempts the server's full accept queue turned away (whole machine)
  double connect_server_cpu_us_per_peer = -1;   ///< server CPU while connecting, per peer
  double connect_clients_cpu_us_per_peer = -1;  ///< client processes' CPU while connecting, per peer
  Histogram first_call_us;            ///< per peer: spawn start to its first reply
  long rss0_kib = -1;                 ///< server, bound, no peer
  long rss_idle_kib = -1;             ///< server, every peer connected, after the idle window
  long rss_end_kib = -1;              ///< server, after every peer left
  long fds_idle = -1;
  double idle_cpu_pct = -1;           ///< server CPU during the idle window, % of one core
  std::string idle_threads;           ///< the same per server thread: "name:pct,..."
  std::uint64_t gone_silent = 0;      ///< peers the server's heartbeat backend declared gone for silence
  std::string first_gone;             ///< the first time a client would have declared the server gone
  std::optional<LoadFigures> solo;    ///< loaded alone
  std::optional<LoadFigures> paired;  ///< loaded in the same window as another scenario
  double leave_ms = -1;               ///< pseud: quit sent until the server saw every peer gone

  std::uint64_t calls = 0, ok = 0, errors = 0, heartbeats_sent = 0, heartbeats_received = 0, gone = 0;
  std::uint64_t server_handled = 0, server_malformed = 0, server_dropped = 0, server_joined = 0;

  /// The largest share of the CPUs other processes took in any measured phase, %.
  double busiest_pct() const;
};

class Scenario {
 public:
  /// `keys`: the server's pair then one per peer (CURVE only); must outlive the scenario.
  Scenario(const ScenarioSpec& spec, const std::vector<KeyPair>& keys);
  ~Scenario();
  Scenario(const Scenario&) = delete;
  Scenario& operator=(const Scenario&) = delete;

  /// Server up, every peer connected and answered once; false otherwise (see the problems).
  bool start();
  void idle();
  void quit();
  void stop();
  bool connected() const noexcept { return connected_; }
  ScenarioResult& result() noexcept { return result_; }

  // For load.cpp.
  void begin_load(std::int64_t start_ns, std::int64_t end_ns, std::int64_t drain_ns);
  struct ServerSample {
    std::int64_t cpu_ns = 0;
    std::int64_t handled = 0;
    std::string threads;
    long rss_kib = -1;
    std::int64_t clients_cpu_ns = 0;
  };
  std::optional<ServerSample> sample();
  pid_t server_pid() const { return server_ ? server_->pid() : -1; }
  /// Reads the clients' load reports into `figures` (calls, latency).
  void collect_load(LoadFigures& figures, std::int64_t drain_ns);

 private:
  std::optional<std::string> server_says(const std::string& command, const char* prefix);
  void problem(std::string text);
  bool start_server();
  bool start_clients();
  void observe_quiet_until(std::int64_t deadline_ns);

  const ScenarioSpec spec_;
  const std::vector<KeyPair>& keys_;
  ScenarioResult result_;
  std::unique_ptr<Child> server_;
  std::vector<std::unique_ptr<Child>> clients_;
  std::string endpoint_;
  bool connected_ = false;
};

}  // namespace pseud::load
