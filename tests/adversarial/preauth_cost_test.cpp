// Issue 9, rows 3-5: what a client that never logs in can make a server pay,
// and that users who do log in do not pay for it.
//   row 3  wrong-password PLAIN logins at 20/s (argon2id at the interactive
//          cost), next to a trusted_curve server in the same process;
//   row 4  untrusted_curve: 150 HELLOs with 4 MiB passwords, and 20 new
//          connections a second that each spend both HELLO tries;
//   row 5  untrusted_curve with a fixed routing id: a typo, or a stranger
//          under that id, no longer locks the id out.
// The servers run in a process of their own (auth_server), so that the
// memory and CPU measured are theirs alone. Attackers connect from
// 127.0.0.2 (libzmq's "tcp://SOURCE:0;HOST:PORT"), legitimate users from
// 127.0.0.1. Each test prints "[figure]" lines: the attack's rate, the
// server's RSS before and after (and its peak), the share of legitimate
// logins that succeeded within 2 s, the call latency of users logged in
// before the attack (p50/p99 of a blocking sleep(0)), and the time from the
// flood's end to the next successful login. RSS bounds are asserted without
// sanitizers only (their allocators keep freed memory).

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <zmq.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <msgpack.hpp>

#include "fault_support.hpp"
#include "pseud/pseud.hpp"
#include "test_support.hpp"

namespace pseud::adversarial {
namespace {

using namespace std::chrono_literals;
using faults::Clock;
using faults::figure;
using faults::ms_between;
using faults::sanitized;

constexpr const char* attacker_source = "127.0.0.2";
constexpr auto login_limit = 2000ms;      // a legitimate login counts when its first call returns within this
constexpr double login_target = 0.90;     // of legitimate logins during a flood
constexpr double call_p99_target_ms = 50;  // logged-in users' calls during a flood (x3 under ThreadSanitizer)
constexpr double recovery_target_ms = 1000;
constexpr long rss_growth_target_kib = 64 * 1024;

// How long each flood lasts, in seconds.
long flood_seconds() { return faults::count(10, 5, 4); }

// ---- the server process --------------------------------------------------------------

std::string auth_server_path() { return faults::helper_path("PSEUD_AUTH_SERVER", "auth_server"); }

class AuthServer {
 public:
  explicit AuthServer(const std::vector<std::string>& args)
      : child_(auth_server_path(), args,
               test::ChildProcessOptions{.ignore_sigpipe = true,
                                         .spawn_hint = " (build tests/adversarial/auth_server)"}) {
    while (true) {
      auto line = child_.read_line(60s);  // hashing the users at the interactive cost takes a moment
      if (!line) throw std::runtime_error("auth_server did not start");
      if (*line == "ready") break;
      std::istringstream words(*line);
      std::string verb, name, endpoint;
      words >> verb >> name >> endpoint;
      if (verb == "endpoint") endpoints_[name] = endpoint;
    }
  }
  ~AuthServer() {
    if (!finished_) finish();
  }

  // Tells the server to exit and waits for it: its exit status (0 unless a
  // sanitizer reported something in it at exit, or it crashed), -1 when it
  // died of a signal or did not exit within 20 s.
  int finish() {
    finished_ = true;
    child_.write("quit\n", 1000ms);
    child_.close_stdin();
    return child_.wait_for_exit(20s).value_or(-1);
  }

  const std::string& endpoint(const std::string& name = "server") { return endpoints_.at(name); }
  pid_t pid() const { return child_.pid(); }

  long rss_kib() const { return faults::status_kib_of(child_.pid(), "VmRSS:"); }

  // CPU time (user + system) the server process has used, in ms.
  double cpu_ms() const {
    std::ifstream stat("/proc/" + std::to_string(child_.pid()) + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    const auto paren = text.rfind(')');
    if (paren == std::string::npos) return -1;
    std::istringstream fields(text.substr(paren + 2));
    std::vector<std::string> values;
    for (std::string field; fields >> field;) values.push_back(field);
    if (values.size() < 13) return -1;
    const double ticks = static_cast<double>(std::stoull(values[11]) + std::stoull(values[12]));
    return ticks * 1000.0 / static_cast<double>(::sysconf(_SC_CLK_TCK));
  }

  // The auth counters of server `name`.
  std::map<std::string, std::uint64_t> stats(const std::string& name = "server") {
    std::map<std::string, std::uint64_t> out;
    if (!child_.write("stats\n", 2000ms)) return out;
    while (auto line = child_.read_line(5000ms)) {
      if (*line == "end") break;
      std::istringstream words(*line);
      std::string verb, server;
      words >> verb >> server;
      if (server != name) continue;
      for (std::string pair; words >> pair;) {
        const auto eq = pair.find('=');
        out[pair.substr(0, eq)] = std::stoull(pair.substr(eq + 1));
      }
    }
    return out;
  }

 private:
  test::ChildProcess child_;
  std::map<std::string, std::string> endpoints_;
  bool finished_ = false;
};

// "tcp://SOURCE:0;127.0.0.1:PORT": `endpoint` ("tcp://...") connected to from `source`.
std::string from_source(const std::string& source, const std::string& endpoint) {
  return "tcp://" + source + ":0;" + endpoint.substr(6);
}

std::string from_attacker(const std::string& endpoint) { return from_source(attacker_source, endpoint); }

// Legitimate users log in from these addresses (each within its default rate of 2 logins a second).
const std::vector<std::string> user_sources{"127.0.0.1", "127.0.0.3"};

// ---- measurements ------------------------------------------------------------------------

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return -1;
  std::sort(values.begin(), values.end());
  const auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(values.size())));
  return values[std::clamp<std::size_t>(rank, 1, values.size()) - 1];
}

// A thread that runs `step` until stopped, at most once per `gap` (pacing the load, not synchronising).
class Loop {
 public:
  Loop(std::chrono::milliseconds gap, std::function<void()> step)
      : thread_([this, gap, step = std::move(step)] {
          std::unique_lock lock(mutex_);
          while (!stop_) {
            const auto next = Clock::now() + gap;
            lock.unlock();
            step();
            lock.lock();
            changed_.wait_until(lock, next, [this] { return stop_; });
          }
        }) {}
  ~Loop() { stop(); }
  // No new step starts; the one running (if any) finishes.
  void request_stop() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    changed_.notify_all();
  }
  void stop() {
    request_stop();
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool stop_ = false;
  std::thread thread_;  // last: starts once the rest exists
};

struct Sample {
  Clock::time_point start;
  Clock::time_point end;
  bool ok;
  double ms() const { return ms_between(start, end); }
};

// Samples of one loop, read by the test while the loop adds more.
class Samples {
 public:
  void add(Sample sample) {
    std::lock_guard lock(mutex_);
    samples_.push_back(sample);
  }
  // Those that started within [from, to).
  std::vector<Sample> between(Clock::time_point from, Clock::time_point to) const {
    std::lock_guard lock(mutex_);
    std::vector<Sample> out;
    for (const auto& s : samples_) {
      if (s.start >= from && s.start < to) out.push_back(s);
    }
    return out;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<Sample> samples_;
};

struct LatencySummary {
  std::size_t count = 0;
  std::size_t failed = 0;
  double p50 = -1;
  double p99 = -1;
};

LatencySummary summarize(const std::vector<Sample>& samples) {
  LatencySummary summary;
  std::vector<double> ms;
  for (const auto& s : samples) {
    ++summary.count;
    if (!s.ok) {
      ++summary.failed;
      continue;
    }
    ms.push_back(s.ms());
  }
  summary.p50 = percentile(ms, 0.50);
  summary.p99 = percentile(ms, 0.99);
  return summary;
}

// Fresh logins, one every `gap`: a new client connects and makes its first call.
class Logins {
 public:
  Logins(std::function<std::unique_ptr<Client>()> make, std::chrono::milliseconds gap)
      : loop_(gap, [this, make = std::move(make)] {
          const auto start = Clock::now();
          bool ok = false;
          try {
            auto client = make();
            ok = client->call<std::string>("ping", CallOptions{.timeout = login_limit}) == "pong";
          } catch (const std::exception&) {
          }
          const auto end = Clock::now();
          samples_.add({start, end, ok && end - start <= login_limit});
        }) {}
  const Samples& samples() const { return samples_; }
  void request_stop() { loop_.request_stop(); }
  void stop() { loop_.stop(); }

 private:
  Samples samples_;
  Loop loop_;  // last: stopped (joined) before samples_ goes
};

// A user logged in before the attack, calling the blocking sleep(0) every `gap`.
class Caller {
 public:
  Caller(Client& client, std::chrono::milliseconds gap)
      : loop_(gap, [this, &client] {
          const auto start = Clock::now();
          bool ok = false;
          try {
            client.call<double>("sleep", 0.0, CallOptions{.timeout = 2s});
            ok = true;
          } catch (const std::exception&) {
          }
          samples_.add({start, Clock::now(), ok});
        }) {}
  const Samples& samples() const { return samples_; }
  void stop() { loop_.stop(); }

 private:
  Samples samples_;
  Loop loop_;
};

// How late a thread of this process wakes up (every 2 ms): what the machine
// does to this process, whatever the server does. A thread the scheduler
// leaves waiting is late for every call it makes, and no server can help that.
class SchedulingProbe {
 public:
  SchedulingProbe() : thread_([this] { run(); }) {}
  ~SchedulingProbe() { stop(); }
  void stop() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    changed_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  // Lateness (ms) of the wake-ups planned within [from, to): p99 and max.
  std::pair<double, double> lateness(Clock::time_point from, Clock::time_point to) const {
    std::vector<double> late;
    {
      std::lock_guard lock(mutex_);
      for (const auto& [at, ms] : samples_) {
        if (at >= from && at < to) late.push_back(ms);
      }
    }
    if (late.empty()) return {-1, -1};
    return {percentile(late, 0.99), *std::max_element(late.begin(), late.end())};
  }

 private:
  void run() {
    std::unique_lock lock(mutex_);
    auto planned = Clock::now();
    while (!stop_) {
      planned += 2ms;
      if (changed_.wait_until(lock, planned, [this] { return stop_; })) break;
      const auto now = Clock::now();
      samples_.emplace_back(planned, ms_between(planned, now));
      if (now - planned > 2ms) planned = now;  // no catching up after a stall
    }
  }

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  bool stop_ = false;
  std::vector<std::pair<Clock::time_point, double>> samples_;
  std::thread thread_;  // last
};

// The server's peak RSS while it runs.
class RssWatch {
 public:
  explicit RssWatch(AuthServer& server)
      : loop_(20ms, [this, &server] {
          const long rss = server.rss_kib();
          long seen = peak_.load();
          while (rss > seen && !peak_.compare_exchange_weak(seen, rss)) {
          }
        }) {}
  long peak() const { return peak_.load(); }
  void stop() { loop_.stop(); }

 private:
  std::atomic<long> peak_{-1};
  Loop loop_;
};

double percent(std::size_t part, std::size_t whole) {
  return whole == 0 ? 0 : 100.0 * static_cast<double>(part) / static_cast<double>(whole);
}

std::size_t count_ok(const std::vector<Sample>& samples) {
  return static_cast<std::size_t>(std::count_if(samples.begin(), samples.end(), [](const Sample& s) { return s.ok; }));
}

// ---- attackers ----------------------------------------------------------------------------

zmq::socket_t attacker_socket(zmq::context_t& context) {
  zmq::socket_t socket(context, zmq::socket_type::dealer);
  socket.set(zmq::sockopt::linger, 0);
  socket.set(zmq::sockopt::reconnect_ivl, -1);  // one attempt per connection: the rate is the test's
  socket.set(zmq::sockopt::sndtimeo, 0);
  return socket;
}

// Wrong-password PLAIN connections at `per_second`, each kept one second.
class PlainFlood {
 public:
  PlainFlood(const std::string& endpoint, int per_second)
      : endpoint_(from_attacker(endpoint)),
        loop_(std::chrono::milliseconds(1000 / per_second), [this] { step(); }) {}
  ~PlainFlood() { stop(); }
  void stop() {
    loop_.stop();
    open_.clear();
  }
  long attempts() const { return attempts_.load(); }

 private:
  void step() {
    const auto now = Clock::now();
    while (!open_.empty() && now - open_.front().first > 1s) open_.erase(open_.begin());
    zmq::socket_t socket = attacker_socket(context_);
    socket.set(zmq::sockopt::plain_username, "alice");
    socket.set(zmq::sockopt::plain_password, "guess-" + std::to_string(attempts_.load()));
    socket.connect(endpoint_);
    open_.emplace_back(now, std::move(socket));
    ++attempts_;
  }

  zmq::context_t context_;
  std::string endpoint_;
  std::vector<std::pair<Clock::time_point, zmq::socket_t>> open_;  // the loop's thread only
  std::atomic<long> attempts_{0};
  Loop loop_;  // last
};

const std::string work_id = "0123456789abcdef";
const std::string ping_work = test::hex_decode("93a470696e679080");  // ping()

// A HELLO body [bin login, bin password].
std::string hello_body(std::string_view login, std::string_view password) {
  msgpack::sbuffer buffer;
  msgpack::packer<msgpack::sbuffer> packer(buffer);
  packer.pack_array(2);
  packer.pack_bin(static_cast<std::uint32_t>(login.size()));
  packer.pack_bin_body(login.data(), static_cast<std::uint32_t>(login.size()));
  packer.pack_bin(static_cast<std::uint32_t>(password.size()));
  packer.pack_bin_body(password.data(), static_cast<std::uint32_t>(password.size()));
  return {buffer.data(), buffer.size()};
}

// Sends [ "", "v1", id, type, body ]; with `borrow`, `body` is not copied and must outlive the socket.
bool send_pseud(zmq::socket_t& socket, char type, std::string_view body, bool borrow = false) {
  const std::string head[] = {"", "v1", work_id, std::string(1, type)};
  for (const auto& frame : head) {
    if (!socket.send(zmq::buffer(frame), zmq::send_flags::sndmore | zmq::send_flags::dontwait)) return false;
  }
  zmq::message_t last = borrow ? zmq::message_t(const_cast<char*>(body.data()), body.size(), nullptr, nullptr)
                               : zmq::message_t(body.data(), body.size());
  return socket.send(last, zmq::send_flags::dontwait).has_value();
}

// The last frame of the next message, waiting until `deadline`; nullopt when none came.
std::optional<std::string> receive_last(zmq::socket_t& socket, Clock::time_point deadline) {
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
  socket.set(zmq::sockopt::rcvtimeo, static_cast<int>(std::max<long long>(left, 1)));
  zmq::message_t frame;
  do {
    if (!socket.recv(frame)) return std::nullopt;
  } while (frame.more());
  return frame.to_string();
}

// Lets `length` pass: pacing a phase of the test, not synchronisation.
void pause_for(std::chrono::milliseconds length) {
  std::mutex mutex;
  std::condition_variable never;
  std::unique_lock lock(mutex);
  never.wait_for(lock, length, [] { return false; });
}

// The last frame of the next message, if one is there now.
std::optional<std::string> try_receive(zmq::socket_t& socket) {
  std::optional<std::string> last;
  while (true) {
    zmq::message_t frame;
    if (!socket.recv(frame, zmq::recv_flags::dontwait)) return last;
    last = frame.to_string();
    if (!frame.more()) return last;
  }
}

// untrusted_curve connections opened at `per_second`, each: WORK, then both
// HELLO tries with wrong passwords, then closed.
class HelloFlood {
 public:
  HelloFlood(const std::string& endpoint, std::string server_public, int per_second)
      : endpoint_(from_attacker(endpoint)),
        server_public_(std::move(server_public)),
        gap_(std::chrono::milliseconds(1000 / per_second)),
        thread_([this] { run(); }) {}
  ~HelloFlood() { stop(); }
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  long connections() const { return connections_.load(); }
  long hellos_answered() const { return hellos_answered_.load(); }
  long unfinished() const { return unfinished_.load(); }
  // CPU the attacking thread used (known once stopped).
  double cpu_ms() const { return cpu_ms_; }

 private:
  struct Attacker {
    zmq::socket_t socket;
    Clock::time_point opened;
    int stage = 0;  // 0: WORK sent; 1, 2: HELLO 1, 2 sent
  };

  void run() {
    zmq::context_t context;
    std::vector<std::unique_ptr<Attacker>> open;
    auto next = Clock::now();
    while (!stop_) {
      const auto now = Clock::now();
      if (now >= next) {
        next += gap_;
        auto attacker = std::make_unique<Attacker>(Attacker{attacker_socket(context), now});
        const CurveKeyPair keys = generate_curve_keypair();
        attacker->socket.set(zmq::sockopt::curve_serverkey, server_public_);
        attacker->socket.set(zmq::sockopt::curve_publickey, keys.public_key);
        attacker->socket.set(zmq::sockopt::curve_secretkey, keys.secret_key);
        attacker->socket.connect(endpoint_);
        send_pseud(attacker->socket, '\x03', ping_work);
        open.push_back(std::move(attacker));
        ++connections_;
      }
      std::vector<zmq_pollitem_t> items;
      for (auto& a : open) items.push_back({a->socket.handle(), 0, ZMQ_POLLIN, 0});
      const long wait = std::max<long>(0, std::chrono::ceil<std::chrono::milliseconds>(next - Clock::now()).count());
      zmq_poll(items.data(), static_cast<int>(items.size()), std::min<long>(wait, 5));
      for (std::size_t i = 0; i < open.size(); ++i) {
        if (!(items[i].revents & ZMQ_POLLIN)) continue;
        Attacker& a = *open[i];
        while (auto reply = try_receive(a.socket)) {
          if (a.stage > 0) ++hellos_answered_;
          if (a.stage == 2) {
            a.stage = 3;
            break;
          }
          ++a.stage;
          const std::string body = hello_body("john", "guess-" + std::to_string(a.stage));
          send_pseud(a.socket, '\x02', body);
        }
      }
      const auto cutoff = Clock::now() - 5s;
      std::erase_if(open, [&](const std::unique_ptr<Attacker>& a) {
        if (a->stage == 3) return true;
        if (a->opened < cutoff) {
          ++unfinished_;
          return true;
        }
        return false;
      });
    }
    unfinished_ += static_cast<long>(open.size());
    rusage usage{};
    ::getrusage(RUSAGE_THREAD, &usage);
    cpu_ms_ = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1000.0 +
              static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1000.0;
  }

  std::string endpoint_;
  std::string server_public_;
  std::chrono::milliseconds gap_;
  std::atomic<bool> stop_{false};
  std::atomic<long> connections_{0}, hellos_answered_{0}, unfinished_{0};
  double cpu_ms_ = 0;
  std::thread thread_;  // last
};

// ---- a flood, and what legitimate users saw during it ---------------------------------

// The machine this runs on may be busy with more than the test (a shared
// 2-core machine compiling: its quiet p99 reached 10-170 ms there), and the
// attack cannot be blamed for that. The test measures the same calls in a
// quiet window before the flood and in one after it; when either window's p99
// is over 10 ms (an idle machine: 1-3 ms), the machine is busy, and the bounds
// the flood is held to widen by what it showed (latency: 4 times the quiet
// p99 on top of the target; recovery: 1 s more). Likewise, when a thread of
// the test process itself woke late (p99 over 10 ms) during the flood, the
// latency bound widens by 4 times that lateness: the server had no part in
// it. The code before the fix failed by seconds, which still fails; the
// bound used is printed.
constexpr double busy_quiet_p99_ms = 10;
constexpr double disturbed_probe_p99_ms = 10;

struct FloodResult {
  Clock::time_point quiet_before, start, end, quiet_after_start, quiet_after_end;
  long rss_before = -1, rss_after = -1, rss_peak = -1;
  double cpu_flood_ms = 0;
  std::size_t logins = 0, logins_ok = 0;
  LatencySummary calls_before, calls_during, calls_after;
  double recovery_ms = -1;
  std::pair<double, double> probe_quiet{-1, -1}, probe_during{-1, -1};  // this process's wake-up lateness: p99, max

  // The quiet windows' worse p99.
  double quiet_p99() const { return std::max(calls_before.p99, calls_after.p99); }
  bool busy() const { return quiet_p99() > busy_quiet_p99_ms * faults::latency_factor(); }
  // The test process's own threads woke late during the flood.
  bool disturbed() const { return probe_during.first > disturbed_probe_p99_ms * faults::latency_factor(); }
  double call_bound(double quiet) const {
    const double target = call_p99_target_ms * faults::latency_factor();
    return target + (busy() ? 4 * quiet : 0) + (disturbed() ? 4 * probe_during.first : 0);
  }
  // (Times 3 under ThreadSanitizer, like the latency bounds: the recovering login runs through its engines.)
  double recovery_bound() const {
    return (busy() ? recovery_target_ms + 1000 : recovery_target_ms) * faults::latency_factor();
  }
};

void print_calls(const char* row, const char* who, const LatencySummary& before, const LatencySummary& during,
                 const LatencySummary& after, double bound) {
  figure("%s: %s sleep(0) calls: p50/p99 before the attack %.2f/%.2f ms (%zu calls), during it %.2f/%.2f ms "
         "(%zu calls, %zu failed; bound p99 <= %.0f ms), after it %.2f/%.2f ms (%zu calls)",
         row, who, before.p50, before.p99, before.count, during.p50, during.p99, during.count, during.failed, bound,
         after.p50, after.p99, after.count);
}

void print_common(const char* row, const FloodResult& r, double attack_rate, const char* attack) {
  figure("%s: attack: %s at %.1f/s for %.1f s, from %s (counts: %s; %s)", row, attack, attack_rate,
         ms_between(r.start, r.end) / 1000.0, attacker_source, faults::count_kind(), faults::build_kind());
  figure("%s: server RSS before %.1f MiB, after %.1f MiB (growth %+.1f MiB; target <= 64 MiB), peak during %.1f MiB%s",
         row, r.rss_before / 1024.0, r.rss_after / 1024.0, (r.rss_after - r.rss_before) / 1024.0,
         r.rss_peak / 1024.0, sanitized() ? " (sanitizer allocator: reported only)" : "");
  figure("%s: legitimate logins succeeded within %lld ms: %zu/%zu (%.1f %%; target >= %.0f %%)", row,
         static_cast<long long>(login_limit.count()), r.logins_ok, r.logins, percent(r.logins_ok, r.logins),
         100 * login_target);
  print_calls(row, "logged-in users'", r.calls_before, r.calls_during, r.calls_after, r.call_bound(r.quiet_p99()));
  figure("%s: recovery: a login started as the flood ended succeeded %.0f ms after it (bound <= %.0f ms%s)", row,
         r.recovery_ms, r.recovery_bound(), faults::latency_note());
  figure("%s: the test process's own wake-up lateness (p99/max): quiet %.1f/%.1f ms, during the flood %.1f/%.1f ms",
         row, r.probe_quiet.first, r.probe_quiet.second, r.probe_during.first, r.probe_during.second);
  if (r.disturbed()) {
    figure("%s: this process's own threads woke late during the flood (p99 %.1f ms > %.0f ms): latency bound "
           "widened by %.0f ms",
           row, r.probe_during.first, disturbed_probe_p99_ms * faults::latency_factor(), 4 * r.probe_during.first);
  }
  if (r.busy()) {
    figure("%s: the machine was busy without the attack (quiet p99 %.1f ms > %.0f ms): latency target %.0f ms "
           "widened to %.0f ms, recovery target %.0f ms to %.0f ms%s",
           row, r.quiet_p99(), busy_quiet_p99_ms * faults::latency_factor(),
           call_p99_target_ms * faults::latency_factor(), r.call_bound(r.quiet_p99()),
           recovery_target_ms * faults::latency_factor(), r.recovery_bound(), faults::latency_note());
  }
}

void expect_common(const FloodResult& r) {
  EXPECT_GE(percent(r.logins_ok, r.logins), 100 * login_target);
  EXPECT_GE(r.logins, 4u) << "too few logins to judge";
  EXPECT_EQ(r.calls_during.failed, 0u);
  EXPECT_LE(r.calls_during.p99, r.call_bound(r.quiet_p99()));
  EXPECT_GE(r.recovery_ms, 0) << "no login succeeded after the flood";
  EXPECT_LE(r.recovery_ms, r.recovery_bound());
  if (!sanitized()) {
    EXPECT_LE(r.rss_after - r.rss_before, rss_growth_target_kib);
  }
}

// Waits (at most 5 s) until the server has run no password check for 300 ms:
// none is then holding its memory.
void wait_until_checks_settle(AuthServer& server) {
  auto last = server.stats().at("checks");
  auto since = Clock::now();
  test::eventually(
      [&] {
        const auto now = server.stats().at("checks");
        if (now != last) {
          last = now;
          since = Clock::now();
        }
        return Clock::now() - since >= 300ms;
      },
      5000ms);
}

// Runs, with `logins` and `caller` going all along: a quiet window, `attack`
// for flood_seconds(), logins with `login` until one succeeds (recovery),
// and another quiet window. `attack` starts the attack and returns a
// function that stops it. `rss_before` was read before the legitimate
// traffic started (no check running).
FloodResult run_flood(AuthServer& server, long rss_before, std::vector<std::unique_ptr<Logins>>& logins,
                      Caller& caller, const std::function<std::unique_ptr<Client>()>& login,
                      const std::function<std::function<void()>()>& attack) {
  FloodResult r;
  r.rss_before = rss_before;
  SchedulingProbe probe;
  r.quiet_before = Clock::now();
  pause_for(2000ms);
  RssWatch watch(server);
  r.start = Clock::now();
  const double cpu_start = server.cpu_ms();
  auto stop_attack = attack();
  // The legitimate logins stop starting a second before the flood ends, so
  // that what a login meets after the flood is what the attack left behind.
  pause_for(std::chrono::seconds(flood_seconds()) - 1s);
  for (auto& loop : logins) loop->request_stop();
  pause_for(1s);
  stop_attack();
  r.end = Clock::now();
  r.cpu_flood_ms = server.cpu_ms() - cpu_start;
  // Recovery: logins from the moment the flood ends until one succeeds (it
  // waits behind whatever the attack left queued).
  const auto recovery_deadline = r.end + 6s;
  while (r.recovery_ms < 0 && Clock::now() < recovery_deadline) {
    try {
      auto client = login();
      if (client->call<std::string>("ping", CallOptions{.timeout = login_limit}) == "pong") {
        r.recovery_ms = ms_between(r.end, Clock::now());
      }
    } catch (const std::exception&) {
    }
  }
  r.quiet_after_start = Clock::now();
  pause_for(2000ms);
  r.quiet_after_end = Clock::now();
  probe.stop();
  const auto before = probe.lateness(r.quiet_before, r.start);
  const auto after = probe.lateness(r.quiet_after_start, r.quiet_after_end);
  r.probe_quiet = {std::max(before.first, after.first), std::max(before.second, after.second)};
  r.probe_during = probe.lateness(r.start, r.end);
  for (auto& loop : logins) loop->stop();
  caller.stop();
  watch.stop();
  wait_until_checks_settle(server);
  r.rss_after = server.rss_kib();
  r.rss_peak = watch.peak();
  for (auto& loop : logins) {
    const auto during = loop->samples().between(r.start, r.end);
    r.logins += during.size();
    r.logins_ok += count_ok(during);
  }
  r.calls_before = summarize(caller.samples().between(r.quiet_before, r.start));
  r.calls_during = summarize(caller.samples().between(r.start, r.end));
  r.calls_after = summarize(caller.samples().between(r.quiet_after_start, r.quiet_after_end));
  return r;
}

std::chrono::milliseconds call_gap() { return faults::thread_sanitizer() ? 20ms : 5ms; }
constexpr auto login_gap = 1000ms;  // legitimate logins from one address: within its default 2 a second

// ---- row 3: wrong-password PLAIN logins ---------------------------------------------------

TEST(PreauthCost, Row3PlainWrongPasswordFloodStarvesNeitherLoginsNorATrustedCurveServer) {
  const CurveKeyPair trusted_server = generate_curve_keypair();
  const CurveKeyPair friend_keys = generate_curve_keypair();
  AuthServer server({"plain", "--user", "alice=correct horse", "--hash-cost", "interactive", "--trusted",
                     trusted_server.secret_key, friend_keys.public_key});
  const std::string plain_endpoint = server.endpoint("server");
  const std::string trusted_endpoint = server.endpoint("trusted");
  auto plain_login = [&](const std::string& source) {
    PeerOptions options;
    options.auth = {"plain", {{"login", "alice"}, {"password", "correct horse"}, {"encrypted_link", "true"}}};
    auto client = std::make_unique<Client>("server", options);
    client->connect(from_source(source, plain_endpoint));
    return client;
  };
  auto trusted_login = [&] {
    PeerOptions options;
    options.auth = {"trusted_curve", {{"server_public_key", trusted_server.public_key},
                                      {"public_key", friend_keys.public_key},
                                      {"secret_key", friend_keys.secret_key}}};
    auto client = std::make_unique<Client>("trusted", options);
    client->connect(trusted_endpoint);
    return client;
  };
  // Users logged in before the attack, and a first login of each kind (warms the server up).
  auto alice = plain_login(user_sources[0]);
  ASSERT_EQ(alice->call<std::string>("ping", CallOptions{.timeout = 10s}), "pong");
  auto friendly = trusted_login();
  ASSERT_EQ(friendly->call<std::string>("ping", CallOptions{.timeout = 10s}), "pong");
  wait_until_checks_settle(server);
  const long rss_before = server.rss_kib();

  Logins trusted_logins(trusted_login, login_gap);
  Caller trusted_caller(*friendly, call_gap());
  std::vector<std::unique_ptr<Logins>> logins;
  for (const auto& source : user_sources) {
    logins.push_back(std::make_unique<Logins>([&, source] { return plain_login(source); }, login_gap));
  }
  Caller caller(*alice, call_gap());
  std::unique_ptr<PlainFlood> flood;
  const auto checks_before = server.stats();
  const FloodResult r = run_flood(server, rss_before, logins, caller, [&] { return plain_login(user_sources[0]); }, [&] {
    flood = std::make_unique<PlainFlood>(plain_endpoint, 20);
    return [&] { flood->stop(); };
  });
  trusted_logins.stop();
  trusted_caller.stop();
  const auto stats = server.stats();
  const double rate = static_cast<double>(flood->attempts()) / (ms_between(r.start, r.end) / 1000.0);
  print_common("row 3 (plain)", r, rate, "wrong-password PLAIN logins (argon2id, interactive cost)");
  const auto trusted_during = trusted_logins.samples().between(r.start, r.end);
  const auto trusted_before = summarize(trusted_caller.samples().between(r.quiet_before, r.start));
  const auto trusted_calls = summarize(trusted_caller.samples().between(r.start, r.end));
  const auto trusted_after = summarize(trusted_caller.samples().between(r.quiet_after_start, r.quiet_after_end));
  const double trusted_bound = r.call_bound(std::max(trusted_before.p99, trusted_after.p99));
  figure("row 3 (plain): trusted_curve server in the same process: logins %zu/%zu (%.1f %%) within %lld ms",
         count_ok(trusted_during), trusted_during.size(), percent(count_ok(trusted_during), trusted_during.size()),
         static_cast<long long>(login_limit.count()));
  print_calls("row 3 (plain)", "trusted_curve users'", trusted_before, trusted_calls, trusted_after, trusted_bound);
  figure("row 3 (plain): server counters during the run: checks %llu, refused by address %llu, busy %llu, expired %llu",
         static_cast<unsigned long long>(stats.at("checks") - checks_before.at("checks")),
         static_cast<unsigned long long>(stats.at("refused_by_address")),
         static_cast<unsigned long long>(stats.at("refused_busy")), static_cast<unsigned long long>(stats.at("expired")));
  expect_common(r);
  EXPECT_GE(rate, 15.0) << "the attack did not reach its rate";
  EXPECT_GT(stats.at("refused_by_address"), 0u) << "the flood was not limited by its address";
  EXPECT_GE(percent(count_ok(trusted_during), trusted_during.size()), 100 * login_target);
  EXPECT_EQ(trusted_calls.failed, 0u);
  EXPECT_LE(trusted_calls.p99, trusted_bound);
  EXPECT_EQ(server.finish(), 0) << "the server process did not exit cleanly (see its stderr)";
}

// ---- row 4: untrusted_curve HELLOs ----------------------------------------------------------

struct UntrustedSetup {
  CurveKeyPair server_keys = generate_curve_keypair();
  std::unique_ptr<AuthServer> server;
  explicit UntrustedSetup(const char* cost) {
    server = std::make_unique<AuthServer>(std::vector<std::string>{
        "untrusted_curve", "--secret-key", server_keys.secret_key, "--user", "john=s3cret!", "--hash-cost", cost});
  }
  // A client that logs in with `password` on its first call (a fresh key each time unless given).
  std::unique_ptr<Client> client(const std::string& password, const std::string& routing_id = {},
                                 const CurveKeyPair* keys = nullptr, const std::string& source = "127.0.0.1") {
    Settings settings{{"server_public_key", server_keys.public_key}, {"login", "john"}, {"password", password}};
    if (keys) {
      settings.add("public_key", keys->public_key);
      settings.add("secret_key", keys->secret_key);
    }
    PeerOptions options;
    options.auth = {"untrusted_curve", settings};
    options.routing_id = routing_id;
    auto c = std::make_unique<Client>("server", options);
    c->connect(from_source(source, server->endpoint()));
    return c;
  }
};

TEST(PreauthCost, Row4HugeHelloPasswordsAreRefusedUndecoded) {
  UntrustedSetup setup("interactive");
  AuthServer& server = *setup.server;
  const std::size_t connections = static_cast<std::size_t>(faults::count(150, 150, 150));
  // The largest HELLO the server takes in at all (4 MiB with the frames around it), all but its password.
  const std::string password(4 * 1024 * 1024 - 64, 'p');
  const std::string body = hello_body("john", password);
  const long rss_before = server.rss_kib();
  RssWatch watch(server);
  zmq::context_t context;
  std::vector<zmq::socket_t> sockets;
  const auto start = Clock::now();
  for (std::size_t i = 0; i < connections; ++i) {
    sockets.push_back(attacker_socket(context));
    const CurveKeyPair keys = generate_curve_keypair();
    sockets.back().set(zmq::sockopt::curve_serverkey, setup.server_keys.public_key);
    sockets.back().set(zmq::sockopt::curve_publickey, keys.public_key);
    sockets.back().set(zmq::sockopt::curve_secretkey, keys.secret_key);
    sockets.back().set(zmq::sockopt::sndtimeo, 5000);
    sockets.back().connect(from_attacker(server.endpoint()));
    ASSERT_TRUE(send_pseud(sockets.back(), '\x03', ping_work));
  }
  // Each is challenged, then sends its HELLO.
  std::size_t challenged = 0;
  const auto challenge_deadline = Clock::now() + 20s;
  for (auto& socket : sockets) challenged += receive_last(socket, challenge_deadline) == "Authentication Required";
  ASSERT_EQ(challenged, connections);
  const auto hellos_start = Clock::now();
  for (auto& socket : sockets) ASSERT_TRUE(send_pseud(socket, '\x02', body, /*borrow=*/true));  // 600 MiB, not copied
  std::size_t refused = 0;
  const auto refusal_deadline = Clock::now() + 30s;
  for (auto& socket : sockets) refused += receive_last(socket, refusal_deadline) == "Authentication Error";
  const auto end = Clock::now();
  sockets.clear();
  // A legitimate user still logs in at once.
  const auto login_start = Clock::now();
  auto john = setup.client("s3cret!");
  bool logged_in = false;
  try {
    logged_in = john->call<std::string>("ping", CallOptions{.timeout = login_limit}) == "pong";
  } catch (const std::exception&) {
  }
  const double login_ms = ms_between(login_start, Clock::now());
  watch.stop();
  wait_until_checks_settle(server);
  const long rss_after = server.rss_kib();
  const auto stats = server.stats();
  const double seconds = ms_between(hellos_start, end) / 1000.0;
  figure("row 4 (untrusted_curve, huge HELLOs): attack: %zu unauthenticated connections from %s each sent a HELLO "
         "with a %.1f MiB password (%.0f MiB in %.2f s, %.0f HELLOs/s; counts: %s; %s)",
         connections, attacker_source, static_cast<double>(password.size()) / (1024.0 * 1024.0),
         static_cast<double>(connections * body.size()) / (1024.0 * 1024.0), seconds,
         static_cast<double>(connections) / seconds, faults::count_kind(), faults::build_kind());
  figure("row 4 (untrusted_curve, huge HELLOs): refused %zu/%zu (refused oversize %llu, checks %llu) in %.0f ms all told",
         refused, connections, static_cast<unsigned long long>(stats.at("refused_oversize")),
         static_cast<unsigned long long>(stats.at("checks")), ms_between(start, end));
  figure("row 4 (untrusted_curve, huge HELLOs): server RSS before %.1f MiB, after %.1f MiB (growth %+.1f MiB; target "
         "<= 64 MiB), peak during %.1f MiB%s",
         rss_before / 1024.0, rss_after / 1024.0, (rss_after - rss_before) / 1024.0, watch.peak() / 1024.0,
         sanitized() ? " (sanitizer allocator: reported only)" : "");
  figure("row 4 (untrusted_curve, huge HELLOs): a legitimate login right after: %s in %.0f ms",
         logged_in ? "succeeded" : "FAILED", login_ms);
  EXPECT_EQ(refused, connections);
  EXPECT_EQ(stats.at("refused_oversize"), connections);
  EXPECT_EQ(stats.at("checks"), 1u) << "only the legitimate login was hashed";
  EXPECT_TRUE(logged_in);
  if (!sanitized()) {
    EXPECT_LE(rss_after - rss_before, rss_growth_target_kib);
  }
  EXPECT_EQ(server.finish(), 0) << "the server process did not exit cleanly (see its stderr)";
}

TEST(PreauthCost, Row4NewConnectionsSpendingTheirHelloTriesStarveNoOne) {
  UntrustedSetup setup("interactive");
  AuthServer& server = *setup.server;
  auto john = setup.client("s3cret!");
  ASSERT_EQ(john->call<std::string>("ping", CallOptions{.timeout = 10s}), "pong");
  wait_until_checks_settle(server);
  const long rss_before = server.rss_kib();
  std::vector<std::unique_ptr<Logins>> logins;
  for (const auto& source : user_sources) {
    logins.push_back(std::make_unique<Logins>([&, source] { return setup.client("s3cret!", {}, nullptr, source); },
                                              login_gap));
  }
  Caller caller(*john, call_gap());
  std::unique_ptr<HelloFlood> flood;
  const auto stats_before = server.stats();
  double cpu_quiet_per_s = 0;
  {
    // The server's CPU for the legitimate traffic alone, to subtract from the flood's.
    const double cpu0 = server.cpu_ms();
    const auto t0 = Clock::now();
    pause_for(1000ms);
    cpu_quiet_per_s = (server.cpu_ms() - cpu0) / (ms_between(t0, Clock::now()) / 1000.0);
  }
  const FloodResult r = run_flood(server, rss_before, logins, caller, [&] { return setup.client("s3cret!"); }, [&] {
    flood = std::make_unique<HelloFlood>(server.endpoint(), setup.server_keys.public_key, 20);
    return [&] { flood->stop(); };
  });
  const auto stats = server.stats();
  const double seconds = ms_between(r.start, r.end) / 1000.0;
  const double rate = static_cast<double>(flood->connections()) / seconds;
  print_common("row 4 (untrusted_curve, HELLO tries)", r, rate,
               "new CURVE connections each spending both HELLO tries (argon2id, interactive cost)");
  const double attack_cpu = std::max(0.0, r.cpu_flood_ms - cpu_quiet_per_s * seconds);
  figure("row 4 (untrusted_curve, HELLO tries): %ld connections, %ld HELLOs answered, %ld unfinished; server CPU "
         "%.0f ms during the flood (%.0f ms/s without it): %.1f ms per unauthenticated connection; the attacker's "
         "own CPU %.0f ms",
         flood->connections(), flood->hellos_answered(), flood->unfinished(), r.cpu_flood_ms, cpu_quiet_per_s,
         flood->connections() ? attack_cpu / static_cast<double>(flood->connections()) : 0.0, flood->cpu_ms());
  figure("row 4 (untrusted_curve, HELLO tries): server counters: checks %llu, refused by address %llu, busy %llu",
         static_cast<unsigned long long>(stats.at("checks") - stats_before.at("checks")),
         static_cast<unsigned long long>(stats.at("refused_by_address")),
         static_cast<unsigned long long>(stats.at("refused_busy")));
  expect_common(r);
  EXPECT_GE(rate, 15.0) << "the attack did not reach its rate";
  EXPECT_GT(stats.at("refused_by_address"), 0u);
  EXPECT_EQ(server.finish(), 0) << "the server process did not exit cleanly (see its stderr)";
}

// ---- row 5: a fixed routing id is not locked out -----------------------------------------

// Logins under one fixed routing id until one succeeds (within `limit`). A
// connection presenting a routing id the server still holds for a connection
// that has just closed is ignored by libzmq (ROUTER_HANDOVER is off for
// authenticating backends), so a client that comes back within milliseconds
// may need a second connection.
struct Relogin {
  bool ok = false;
  int attempts = 0;
  double ms = 0;
};

Relogin log_in_again(const std::function<std::unique_ptr<Client>()>& make, std::chrono::milliseconds limit = 5000ms) {
  Relogin r;
  const auto start = Clock::now();
  while (!r.ok && Clock::now() - start < limit) {
    ++r.attempts;
    try {
      auto client = make();
      r.ok = client->call<std::string>("ping", CallOptions{.timeout = 1000ms}) == "pong";
    } catch (const std::exception&) {
    }
  }
  r.ms = ms_between(start, Clock::now());
  return r;
}

TEST(PreauthCost, Row5AFixedRoutingIdIsNotLockedOut) {
  UntrustedSetup setup("interactive");
  const CurveKeyPair own = generate_curve_keypair();
  const CurveKeyPair stranger = generate_curve_keypair();
  // A typo: both tries spent on one connection.
  const auto typo_start = Clock::now();
  std::string typo_error;
  {
    auto typo = setup.client("s3cret?", "johns-laptop", &own);
    try {
      typo->call<std::string>("ping", CallOptions{.timeout = 10s});
    } catch (const UnauthorizedError& e) {
      typo_error = e.message();
    } catch (const std::exception& e) {
      typo_error = e.what();
    }
  }
  const double typo_ms = ms_between(typo_start, Clock::now());
  // The same id and key with the right password, on a new connection.
  const Relogin retry = log_in_again([&] { return setup.client("s3cret!", "johns-laptop", &own); });
  // A stranger takes the id while its owner is away: WORK and two wrong HELLOs.
  const auto stranger_start = Clock::now();
  int stranger_answers = 0;
  {
    zmq::context_t context;
    zmq::socket_t socket = attacker_socket(context);
    socket.set(zmq::sockopt::routing_id, "johns-laptop");
    socket.set(zmq::sockopt::curve_serverkey, setup.server_keys.public_key);
    socket.set(zmq::sockopt::curve_publickey, stranger.public_key);
    socket.set(zmq::sockopt::curve_secretkey, stranger.secret_key);
    socket.set(zmq::sockopt::rcvtimeo, 5000);
    socket.connect(from_attacker(setup.server->endpoint()));
    const std::string bodies[] = {ping_work, hello_body("john", "guess-1"), hello_body("john", "guess-2")};
    const char types[] = {'\x03', '\x02', '\x02'};
    for (int i = 0; i < 3; ++i) {
      ASSERT_TRUE(send_pseud(socket, types[i], bodies[i]));
      stranger_answers += receive_last(socket, Clock::now() + 5s).has_value();
    }
  }
  // The owner comes back (the same id, its own key).
  const auto owner_start = Clock::now();
  const Relogin owner = log_in_again([&] { return setup.client("s3cret!", "johns-laptop", &own); });
  const auto stats = setup.server->stats();
  figure("row 5 (untrusted_curve, fixed routing id): a typo spent both tries (\"%s\", %.0f ms); the right password "
         "under the same id and key then %s in %.0f ms, %d connection(s) (was: locked out for good)",
         typo_error.c_str(), typo_ms, retry.ok ? "logged in" : "FAILED", retry.ms, retry.attempts);
  figure("row 5 (untrusted_curve, fixed routing id): a stranger under that id sent WORK and two wrong HELLOs from %s "
         "(%d answers, %.0f ms); the owner then %s in %.0f ms, %d connection(s) (was: locked out for good); "
         "server checks %llu",
         attacker_source, stranger_answers, ms_between(stranger_start, owner_start), owner.ok ? "logged in" : "FAILED",
         owner.ms, owner.attempts, static_cast<unsigned long long>(stats.at("checks")));
  EXPECT_EQ(typo_error, "Max authentication retries reached");
  EXPECT_TRUE(retry.ok);
  EXPECT_EQ(stranger_answers, 3);
  EXPECT_TRUE(owner.ok);
  EXPECT_EQ(setup.server->finish(), 0) << "the server process did not exit cleanly (see its stderr)";
}

}  // namespace
}  // namespace pseud::adversarial
