#include "scenario.hpp"

#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include "clock.hpp"
#include "line_io.hpp"
#include "load.hpp"
#include "proc_stats.hpp"

namespace pseud::load {

namespace {

constexpr std::int64_t reply_ms = 30'000;  // bound on any one answer from a child process

void progress(const std::string& text) { std::fprintf(stderr, "pseud-load: %s\n", text.c_str()); }

std::uint64_t unsigned_field(const std::string& line, const char* key) {
  return static_cast<std::uint64_t>(std::max<std::int64_t>(0, number_field(line, key, 0)));
}

// Per thread, "name:ns,..." at `end` minus at `start`, as "name:pct,..." of `elapsed_ns`.
std::string per_thread_pct(const std::string& start, const std::string& end, double elapsed_ns) {
  auto before = parse_thread_cpu(start);
  std::string out;
  for (const auto& [name, ns] : parse_thread_cpu(end)) {
    char text[64];
    std::snprintf(text, sizeof text, "%.1f", 100.0 * (ns - before[name]) / elapsed_ns);
    out += (out.empty() ? "" : ",") + name + ":" + text;
  }
  return out;
}

}  // namespace

double ScenarioResult::busiest_pct() const {
  double most = others_pct_connect;
  if (solo) most = std::max(most, solo->others_pct);
  if (paired) most = std::max(most, paired->others_pct);
  return most;
}

std::string ScenarioSpec::label() const {
  return impl + (curve ? "/curve" : "/plain") + (liveness ? "/liveness" : "/noop") + "/" + clients + "/" +
         std::to_string(peers);
}

Scenario::Scenario(const ScenarioSpec& spec, const std::vector<KeyPair>& keys) : spec_(spec), keys_(keys) {
  result_.spec = spec;
}

Scenario::~Scenario() {
  clients_.clear();  // SIGKILLs whatever is left
  server_.reset();
}

void Scenario::problem(std::string text) {
  progress(spec_.label() + ": " + text);
  result_.problems.push_back(std::move(text));
}

std::optional<std::string> Scenario::server_says(const std::string& command, const char* prefix) {
  if (!server_ || !server_->send(command)) {
    problem("the server is gone (cannot send '" + command + "')");
    return std::nullopt;
  }
  auto answer = server_->expect(prefix, now_ns() + ms_to_ns(reply_ms));
  if (!answer) problem("the server did not answer '" + command + "'");
  return answer;
}

bool Scenario::start() {
  progress("scenario " + spec_.label());
  try {
    connected_ = start_server() && start_clients();
  } catch (const std::exception& e) {
    problem(std::string("harness: ") + e.what());
  }
  return connected_;
}

bool Scenario::start_server() {
  std::vector<std::string> args{"server", "--impl", spec_.impl, "--heartbeat", spec_.liveness ? "liveness" : "noop",
                                "--limit-s", std::to_string(spec_.limit_s)};
  if (spec_.curve) args.push_back("--curve");
  if (spec_.backlog > 0) {
    args.push_back("--backlog");
    args.push_back(std::to_string(spec_.backlog));
  }
  // PSEUD_LOAD_SERVER_WRAPPER runs the server under a tool, e.g. "valgrind --tool=callgrind".
  const char* wrapper = std::getenv("PSEUD_LOAD_SERVER_WRAPPER");
  server_ = std::make_unique<Child>(args, wrapper ? wrapper : "");
  if (spec_.curve) {
    std::vector<KeyPair> public_only{keys_.at(0)};
    for (std::size_t i = 1; i <= spec_.peers; ++i) public_only.push_back({keys_.at(i).public_key, std::string(32, '\0')});
    server_->send("keys " + std::to_string(public_only.size()));
    server_->send_bytes(encode_pairs(public_only, 0, public_only.size()));
  }
  const auto ready = server_->expect("ready ", now_ns() + ms_to_ns(reply_ms));
  if (!ready) {
    problem("the server did not start");
    return false;
  }
  endpoint_ = field(*ready, "endpoint").value_or("");
  const auto stats = server_says("stats", "stats ");
  if (!stats) return false;
  result_.rss0_kib = number_field(*stats, "rss_kib");
  return true;
}

bool Scenario::start_clients() {
  const std::size_t processes = std::min(spec_.processes, spec_.peers);
  const auto drops_before = listen_drops();
  const CpuSnapshot cpu_before = cpu_snapshot();
  const auto server_before = cpu_ns(server_->pid()).value_or(0);
  const std::int64_t t0 = now_ns();
  std::size_t first = 0;
  for (std::size_t p = 0; p < processes; ++p) {
    const std::size_t count = spec_.peers / processes + (p < spec_.peers % processes ? 1 : 0);
    std::vector<std::string> args{"clients", "--kind", spec_.clients, "--endpoint", endpoint_,
                                  "--count", std::to_string(count), "--first", std::to_string(first),
                                  "--payload", std::to_string(spec_.payload), "--heartbeat",
                                  spec_.liveness ? "liveness" : "noop", "--t0", std::to_string(t0),
                                  "--connect-ms", std::to_string(spec_.connect_limit_ms),
                                  "--limit-s", std::to_string(spec_.limit_s)};
    if (spec_.curve) {
      args.push_back("--curve-server-key");
      args.push_back(z85(keys_.at(0).public_key));
    }
    clients_.push_back(std::make_unique<Child>(args));
    if (spec_.curve) {
      clients_.back()->send("keys " + std::to_string(count));
      clients_.back()->send_bytes(encode_pairs(keys_, 1 + first, count));
    }
    first += count;
  }
  std::int64_t last = 0;
  std::size_t ok = 0;
  for (auto& child : clients_) {
    const auto line = child->expect("connected ", t0 + ms_to_ns(spec_.connect_limit_ms + reply_ms));
    if (!line) {
      problem("a client process did not report its connections");
      return false;
    }
    ok += unsigned_field(*line, "ok");
    last = std::max<std::int64_t>(last, number_field(*line, "last_ns"));
    result_.first_call_us.merge_encoded(field(*line, "first_us").value_or("-"));
  }
  const CpuSnapshot cpu_after = cpu_snapshot();
  const auto drops_after = listen_drops();
  std::int64_t clients_ns = 0;
  for (const auto& child : clients_) clients_ns += cpu_ns(child->pid()).value_or(0);
  const auto peers = static_cast<double>(spec_.peers);
  result_.connect_server_cpu_us_per_peer =
      static_cast<double>(cpu_ns(server_->pid()).value_or(0) - server_before) / 1000.0 / peers;
  result_.connect_clients_cpu_us_per_peer = static_cast<double>(clients_ns) / 1000.0 / peers;
  if (drops_before && drops_after) result_.listen_drops = *drops_after - *drops_before;
  const double window = static_cast<double>(cpu_after.at_ns - cpu_before.at_ns);
  const double others = static_cast<double>(others_ns(cpu_before, cpu_after));
  result_.others_pct_connect = 100.0 * others / (window * cpu_after.cpus);
  if (ok != spec_.peers) {
    problem(std::to_string(spec_.peers - ok) + " of " + std::to_string(spec_.peers) + " peers did not get their " +
            "first call answered within " + std::to_string(spec_.connect_limit_ms / 1000) + " s");
    return false;
  }
  result_.connect_s = static_cast<double>(last - t0) / 1e9;
  result_.connect_s_uncontended = std::max(0.0, result_.connect_s - others / cpu_after.cpus / 1e9);
  progress(spec_.label() + ": connect + first call " + std::to_string(result_.connect_s) + " s");
  return true;
}

// Waits until `deadline_ns` (a measurement window, not a synchronisation);
// the clients must not speak or die meanwhile.
void Scenario::observe_quiet_until(std::int64_t deadline_ns) {
  std::vector<pollfd> items;
  for (auto& child : clients_) items.push_back({child->stdout_fd(), POLLIN, 0});
  while (now_ns() < deadline_ns) {
    const int ready = ::poll(items.data(), items.size(), ms_until(deadline_ns));
    if (ready < 0 && errno == EINTR) continue;
    if (ready > 0) {
      problem("a client process spoke or died while it should have been quiet");
      items.clear();  // the rest of the window: time only
    }
  }
}

void Scenario::idle() {
  if (!connected_) return;
  callgrind_control("-z", server_pid());
  const auto before = server_says("stats", "stats ");
  if (!before) return;
  const auto start = now_ns();
  observe_quiet_until(start + ms_to_ns(spec_.idle_ms));
  const auto after = server_says("stats", "stats ");
  callgrind_control("-d", server_pid());
  if (!after) return;
  const double elapsed_ns = static_cast<double>(now_ns() - start);
  result_.idle_cpu_pct =
      100.0 * static_cast<double>(number_field(*after, "cpu_ns") - number_field(*before, "cpu_ns")) / elapsed_ns;
  result_.idle_threads = per_thread_pct(field(*before, "threads").value_or(""), field(*after, "threads").value_or(""),
                                        elapsed_ns);
  result_.rss_idle_kib = number_field(*after, "rss_kib");
  result_.fds_idle = number_field(*after, "fds");
  const auto connected = number_field(*after, "connected");
  if (spec_.impl == "pseud" && connected != static_cast<std::int64_t>(spec_.peers)) {
    problem("the server lists " + std::to_string(connected) + " connected peers, not " + std::to_string(spec_.peers));
  }
}

void Scenario::begin_load(std::int64_t start_ns, std::int64_t end_ns, std::int64_t drain_ns) {
  for (auto& child : clients_) {
    child->send("load start=" + std::to_string(start_ns) + " end=" + std::to_string(end_ns) +
                " drain=" + std::to_string(drain_ns));
  }
}

std::optional<Scenario::ServerSample> Scenario::sample() {
  const auto stats = server_says("stats", "stats ");
  if (!stats) return std::nullopt;
  ServerSample s;
  s.cpu_ns = number_field(*stats, "cpu_ns");
  s.handled = number_field(*stats, "handled");
  s.threads = field(*stats, "threads").value_or("");
  s.rss_kib = number_field(*stats, "rss_kib");
  for (const auto& child : clients_) s.clients_cpu_ns += cpu_ns(child->pid()).value_or(0);
  return s;
}

void Scenario::collect_load(LoadFigures& figures, std::int64_t drain_ns) {
  for (auto& child : clients_) {
    const auto line = child->expect("loaded ", drain_ns + ms_to_ns(reply_ms));
    if (!line) {
      problem("a client process did not finish its load");
      continue;
    }
    figures.in_window += unsigned_field(*line, "in_window");
    if (const auto left = unsigned_field(*line, "unanswered"); left > 0) {
      problem(std::to_string(left) + " calls unanswered 10 s after the load");
    }
    figures.latency_us.merge_encoded(field(*line, "latency_us").value_or("-"));
  }
}

void Scenario::quit() {
  if (clients_.empty()) return;
  const auto start = now_ns();
  for (auto& child : clients_) child->send("quit");
  for (auto& child : clients_) {
    const auto line = child->expect("bye ", now_ns() + ms_to_ns(reply_ms));
    if (!line) {
      problem("a client process did not say bye");
      continue;
    }
    result_.calls += unsigned_field(*line, "calls");
    result_.ok += unsigned_field(*line, "ok");
    result_.errors += unsigned_field(*line, "errors");
    result_.heartbeats_sent += unsigned_field(*line, "hb_sent");
    result_.heartbeats_received += unsigned_field(*line, "hb_recv");
    result_.gone += unsigned_field(*line, "gone");
    if (result_.first_gone.empty() && unsigned_field(*line, "gone") > 0) result_.first_gone = field(*line, "first_gone").value_or("");
    if (unsigned_field(*line, "errors") > 0) problem("client errors, the first: " + field(*line, "error").value_or("?"));
    const int status = exit_code(child->finish(now_ns() + ms_to_ns(reply_ms)));
    if (status != 0) problem("a client process exited with status " + std::to_string(status));
  }
  clients_.clear();
  if (spec_.impl == "pseud" && server_) {
    const auto line = server_says("wait-peers 0 " + std::to_string(reply_ms), "peers ");
    if (line && number_field(*line, "reached") != 1) problem("the server still lists peers 30 s after they left");
    result_.leave_ms = static_cast<double>(now_ns() - start) / 1e6;
  }
}

void Scenario::stop() {
  if (!server_) return;
  if (const auto stats = server_says("stats", "stats ")) {
    result_.rss_end_kib = number_field(*stats, "rss_kib");
    result_.server_handled = unsigned_field(*stats, "handled");
    result_.server_malformed = unsigned_field(*stats, "malformed");
    result_.server_dropped = unsigned_field(*stats, "dropped");
    result_.server_joined = unsigned_field(*stats, "joined");
    result_.gone_silent = unsigned_field(*stats, "gone_silent");
  }
  server_->send("quit");
  if (!server_->expect("bye ", now_ns() + ms_to_ns(reply_ms))) problem("the server did not say bye");
  const int status = exit_code(server_->finish(now_ns() + ms_to_ns(reply_ms)));
  server_.reset();
  if (status != 0) problem("the server exited with status " + std::to_string(status) + " (leak or crash?)");
  if (result_.server_malformed > 0) problem("the server refused " + std::to_string(result_.server_malformed) + " messages");
  if (result_.server_dropped > 0) problem("the server dropped " + std::to_string(result_.server_dropped) + " replies");
  if (result_.server_handled != result_.ok) {
    problem("the server answered " + std::to_string(result_.server_handled) + " calls, the clients got " +
            std::to_string(result_.ok) + " correct replies");
  }
  if (result_.ok != result_.calls) {
    problem(std::to_string(result_.calls - result_.ok) + " of " + std::to_string(result_.calls) + " calls unanswered");
  }
  if (result_.server_joined < spec_.peers) {
    problem("the server saw " + std::to_string(result_.server_joined) + " peers join, not " + std::to_string(spec_.peers));
  }
}

}  // namespace pseud::load
