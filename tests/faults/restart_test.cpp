// Faults on the server's side of a connection (SECURITY-NOTES §E1, §E2):
//   * the server process is killed (SIGKILL) or stopped (stdin closed: a clean
//     stop()) while 100 calls are in flight to it and another thread keeps
//     calling: every in-flight call fails within 1 s, no call hangs, and once
//     the server is back on the same port the first new call succeeds within 1 s;
//   * a call to a server that never started fails at its timeout +-10 %
//     (tcp, ipc and inproc; blocking, future, callback and coroutine forms).
// The server runs as tests/faults/fault_peer (a process: it must die for real).

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <coroutine>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "child_process.hpp"
#include "fault_support.hpp"
#include "pseud/pseud.hpp"
#include "refusing_port.hpp"
#include "test_support.hpp"

namespace pseud::faults {
namespace {

using test::ChildProcess;

constexpr auto bound = 5000ms;
constexpr int in_flight = 100;
// Every in-flight call has ended by then, and the first call after the restart has succeeded.
const auto in_flight_limit = 1000ms * latency_factor();
const auto first_call_limit = 1000ms * latency_factor();
constexpr auto hammer_timeout = 2000ms;  // each of the hammering thread's calls

// The fault_peer server on `endpoint`, past its "endpoint" line (written once bound).
struct ServerProcess {
  std::unique_ptr<ChildProcess> child;
  std::string endpoint;
  Clock::time_point spawned;
  Clock::time_point bound_at;
};

ServerProcess start_server(const std::string& endpoint) {
  ServerProcess server;
  server.spawned = Clock::now();
  server.child =
      std::make_unique<ChildProcess>(fault_peer_path(),
                                     std::vector<std::string>{"server", "--endpoint", endpoint, "--heartbeat", "noop",
                                                              "--serve-blocking-seconds", "30"},
                                     fault_peer_options);
  const auto line = read_until(*server.child, "endpoint ", bound);
  server.bound_at = Clock::now();
  if (line) server.endpoint = line->substr(9);
  return server;
}

// ---- the server killed or stopped with calls in flight, then restarted ----------

enum class Death { killed, stopped };

class ServerRestart : public ::testing::TestWithParam<Death> {};

INSTANTIATE_TEST_SUITE_P(Faults, ServerRestart, ::testing::Values(Death::killed, Death::stopped), [](const auto& info) {
  return std::string(info.param == Death::killed ? "Killed" : "Stopped");
});

// Calls echo in a loop from its own thread (paced by 1 ms) and records each outcome.
class Hammer {
 public:
  explicit Hammer(Client& client) : thread_([this, &client](std::stop_token stop) { run(client, stop); }) {}
  ~Hammer() { thread_.request_stop(); }

  struct Tally {
    long ok = 0;
    long failed = 0;
    double slowest_ms = 0;
    Clock::time_point last_ok{};
    Clock::time_point first_ok_after{};  // first success after mark()
    std::vector<std::string> slow;       // calls that took over 100 ms: when, how long, how they ended
  };
  Clock::time_point epoch() const { return epoch_; }
  Tally tally() const {
    std::lock_guard lock(mutex_);
    return tally_;
  }
  // From now on, first_ok_after records the next success.
  void mark() {
    std::lock_guard lock(mutex_);
    marked_ = true;
    tally_.first_ok_after = {};
  }
  void stop() {
    thread_.request_stop();
    thread_.join();
  }

 private:
  void run(Client& client, std::stop_token stop) {
    while (!stop.stop_requested()) {
      const auto started = Clock::now();
      bool ok = false;
      std::exception_ptr error;
      try {
        ok = client.call<std::string>("echo", "hammer", CallOptions{.timeout = hammer_timeout}) == "hammer";
      } catch (const Error&) {
        error = std::current_exception();
      }
      const auto now = Clock::now();
      {
        std::lock_guard lock(mutex_);
        tally_.slowest_ms = std::max(tally_.slowest_ms, ms_between(started, now));
        if (ms_between(started, now) > 100) {
          char text[160];
          std::snprintf(text, sizeof text, "started at %.1f ms, took %.1f ms: ", ms_between(epoch_, started),
                        ms_between(started, now));
          tally_.slow.push_back(text + error_kind(error) + " " + error_text(error));
        }
        if (ok) {
          ++tally_.ok;
          tally_.last_ok = now;
          if (marked_ && tally_.first_ok_after == Clock::time_point{}) tally_.first_ok_after = now;
        } else {
          ++tally_.failed;
        }
      }
      std::this_thread::sleep_for(1ms);  // pacing: a failing call returns at once
    }
  }

  mutable std::mutex mutex_;
  const Clock::time_point epoch_ = Clock::now();
  Tally tally_;
  bool marked_ = false;
  std::jthread thread_;
};

TEST_P(ServerRestart, InFlightCallsFailNoneHangsAndTheFirstNewCallSucceedsWithinOneSecond) {
  const Death death = GetParam();
  const char* how = death == Death::killed ? "killed (SIGKILL)" : "stopped (clean stop())";
  const long cycles = count(20, 3, 2);

  ServerProcess server = start_server("tcp://127.0.0.1:*");
  ASSERT_FALSE(server.endpoint.empty()) << "fault_peer server printed no endpoint";
  const std::string endpoint = server.endpoint;  // every restart binds this same port

  Client client("server");
  client.connect(endpoint);
  ASSERT_EQ(client.call<std::string>("ping", CallOptions{.timeout = bound}), "pong");
  Hammer hammer(client);

  double worst_in_flight_ms = 0;
  double worst_first_call_ms = 0;
  double worst_hammer_back_ms = 0;
  for (long cycle = 0; cycle < cycles; ++cycle) {
    SCOPED_TRACE("cycle " + std::to_string(cycle));
    // 100 calls in flight: 4 run on the server's worker pool, 96 wait there.
    Outcomes outcomes;
    for (int i = 0; i < in_flight; ++i) {
      client.async_call<double>(outcomes.callback<double>(), "sleep", 20.0, CallOptions{.timeout = 30s});
    }
    for (int i = 0; i < 4; ++i) {
      ASSERT_TRUE(read_until(*server.child, "sleeping", bound)) << "the server did not start the calls";
    }
    const auto hammer_before = hammer.tally().ok;
    ASSERT_TRUE(test::eventually([&] { return hammer.tally().ok >= hammer_before + 5; }, bound))
        << "the hammering thread's calls do not succeed";

    const auto died_at = Clock::now();
    if (death == Death::killed) {
      server.child->signal(SIGKILL);
    } else {
      server.child->close_stdin();
    }
    ASSERT_TRUE(outcomes.wait(in_flight, bound))
        << outcomes.size() << " of " << in_flight << " in-flight calls completed within 5 s; the rest hang";
    double slowest = 0;
    std::map<std::string, int> kinds;
    for (const auto& outcome : outcomes.all()) {
      slowest = std::max(slowest, ms_between(died_at, outcome.at));
      const std::string kind = error_kind(outcome.error);
      ++kinds[kind];
      // A clean stop lets the handlers that were running return early, and their replies go out first.
      EXPECT_TRUE(kind == "PeerGoneError" || kind == "PeerUnreachableError" ||
                  (death == Death::stopped && kind == "ok"))
          << kind << ": " << error_text(outcome.error);
    }
    worst_in_flight_ms = std::max(worst_in_flight_ms, slowest);
    EXPECT_LE(slowest, static_cast<double>(in_flight_limit.count())) << "in-flight calls failed too late";
    std::string kinds_text;
    for (const auto& [kind, n] : kinds) kinds_text += (kinds_text.empty() ? "" : ", ") + std::to_string(n) + " " + kind;
    if (cycle == 0) {
      figure("server %s with %d calls in flight: the last ended %.1f ms after (bound %lld ms%s), none hung: %s", how,
             in_flight, slowest, static_cast<long long>(in_flight_limit.count()), latency_note(), kinds_text.c_str());
    }
    // (The hammering thread's calls are not counted here: one made just as
    // the connection dropped may still be pending, bounded by its own timeout.)

    // Back on the same port. The first call may wait for the connection
    // (wait_for_ready); without it a call fails at once until the client has
    // reconnected, which the hammering thread's calls show.
    server.child->kill_and_reap();
    server = start_server(endpoint);
    ASSERT_EQ(server.endpoint, endpoint) << "the restarted server could not bind the same endpoint";
    hammer.mark();
    const auto restarted_at = server.bound_at;
    std::printf(
        "[ detail ] cycle %ld: server %s at %.1f ms, spawned again at %.1f ms, bound at %.1f ms (hammer's "
        "clock)\n",
        cycle, how, ms_between(hammer.epoch(), died_at), ms_between(hammer.epoch(), server.spawned),
        ms_between(hammer.epoch(), restarted_at));
    std::string reply;
    try {
      reply = client.call<std::string>("ping", CallOptions{.timeout = bound, .wait_for_ready = true});
    } catch (const Error& e) {
      ADD_FAILURE() << "the first call after the restart failed: " << e.what();
    }
    const double first_ms = ms_between(restarted_at, Clock::now());
    EXPECT_EQ(reply, "pong");
    EXPECT_LE(first_ms, static_cast<double>(first_call_limit.count()));
    worst_first_call_ms = std::max(worst_first_call_ms, first_ms);
    ASSERT_TRUE(test::eventually([&] { return hammer.tally().first_ok_after != Clock::time_point{}; }, bound))
        << "the hammering thread's calls never succeeded again";
    worst_hammer_back_ms = std::max(worst_hammer_back_ms, ms_between(restarted_at, hammer.tally().first_ok_after));
    if (cycle == 0) {
      figure(
          "server restarted on %s after it was %s: first new call (wait_for_ready) succeeded %.1f ms after it "
          "was bound, %.1f ms after it was spawned (bound %lld ms%s)",
          endpoint.c_str(), how, first_ms, ms_between(server.spawned, Clock::now()),
          static_cast<long long>(first_call_limit.count()), latency_note());
    }
  }
  hammer.stop();
  const auto tally = hammer.tally();
  for (const auto& slow : tally.slow) std::printf("[ detail ] hammer call %s\n", slow.c_str());
  figure(
      "%ld restart cycles (%s count), server %s: in-flight calls ended within %.1f ms, worst first new call %.1f ms "
      "after the restart, plain calls back after at most %.1f ms; hammering thread: %ld ok, %ld failed at once, "
      "slowest call %.1f ms (its timeout %lld ms)",
      cycles, count_kind(), how, worst_in_flight_ms, worst_first_call_ms, worst_hammer_back_ms, tally.ok, tally.failed,
      tally.slowest_ms, static_cast<long long>(hammer_timeout.count()));
  EXPECT_LE(tally.slowest_ms, static_cast<double>((hammer_timeout + 500ms).count())) << "a call hung past its timeout";
  EXPECT_EQ(client.stats().pending_calls, 0u);
  server.child->close_stdin();
}

// ---- a server that never started ---------------------------------------------------------

// A fire-and-forget coroutine.
struct Detached {
  struct promise_type {
    Detached get_return_object() { return {}; }
    std::suspend_never initial_suspend() noexcept { return {}; }
    std::suspend_never final_suspend() noexcept { return {}; }
    void return_void() {}
    void unhandled_exception() { std::terminate(); }
  };
};

Detached coroutine_call(Client& client, CallOptions options, Outcomes outcomes) {
  auto done = outcomes.callback<std::string>();
  try {
    std::string reply = co_await client.co_call<std::string>("ping", options);
    done(Result<std::string>(std::move(reply)));
  } catch (...) {
    done(Result<std::string>(std::current_exception()));
  }
}

// A temporary directory, removed with what it holds.
struct TempDir {
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "pseud-faults-XXXXXX").string();
    if (::mkdtemp(pattern.data())) path = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    if (!path.empty()) std::filesystem::remove_all(path, ignored);
  }
  std::string path;
};

class NeverStarted : public ::testing::TestWithParam<std::string> {};

INSTANTIATE_TEST_SUITE_P(Faults, NeverStarted, ::testing::Values("tcp", "ipc", "inproc"));

TEST_P(NeverStarted, CallsFailAtTheirTimeoutWithinTenPercent) {
  constexpr auto timeout = 1000ms;
  const double low = 0.9 * static_cast<double>(timeout.count());
  const double high = 1.1 * static_cast<double>(timeout.count());
  const std::string transport = GetParam();
  TempDir dir;
  const test::RefusingPort refusing;
  std::string endpoint;
  if (transport == "tcp") {
    endpoint = refusing.endpoint();
  } else if (transport == "ipc") {
    ASSERT_FALSE(dir.path.empty());
    endpoint = "ipc://" + dir.path + "/never-started";
  } else {
    endpoint = "inproc://pseud-faults-never-started-" + std::to_string(::getpid());
  }

  // wait_for_ready: each form waits for the server until its deadline.
  Client client("server");
  client.connect(endpoint);
  const CallOptions waiting{.timeout = timeout, .wait_for_ready = true};
  Outcomes blocking, future, callback, coroutine;
  const auto started = Clock::now();
  std::jthread blocking_thread([&] {
    auto done = blocking.callback<std::string>();
    try {
      done(Result<std::string>(client.call<std::string>("ping", waiting)));
    } catch (...) {
      done(Result<std::string>(std::current_exception()));
    }
  });
  std::jthread future_thread([&] {
    auto reply = client.async_call<std::string>("ping", waiting);
    auto done = future.callback<std::string>();
    try {
      if (reply.wait_for(timeout * 3) != std::future_status::ready) return;  // left unrecorded: hung
      done(Result<std::string>(reply.get()));
    } catch (...) {
      done(Result<std::string>(std::current_exception()));
    }
  });
  client.async_call<std::string>(callback.callback<std::string>(), "ping", waiting);
  coroutine_call(client, waiting, coroutine);

  const std::pair<const char*, Outcomes*> forms[] = {
      {"blocking", &blocking}, {"future", &future}, {"callback", &callback}, {"coroutine", &coroutine}};
  std::string text;
  for (const auto& [name, outcomes] : forms) {
    ASSERT_TRUE(outcomes->wait(1, timeout * 3)) << "the " << name << " call hangs";
    const auto outcome = outcomes->all().front();
    const double ms = ms_between(started, outcome.at);
    EXPECT_EQ(error_kind(outcome.error), "TimeoutError") << name << ": " << error_text(outcome.error);
    EXPECT_GE(ms, low) << name;
    EXPECT_LE(ms, high) << name;
    char part[96];
    std::snprintf(part, sizeof part, "%s%s %.1f ms", text.empty() ? "" : ", ", name, ms);
    text += part;
  }
  figure("%s, server never started, wait_for_ready: %s error after %s for a %lld ms timeout (bound %.0f-%.0f ms)",
         transport.c_str(), error_kind(blocking.all().front().error).c_str(), text.c_str(),
         static_cast<long long>(timeout.count()), low, high);

  // The default: the call waits for the server within its timeout and fails
  // with TimeoutError naming the refusal (PeerOptions::fail_fast, where the
  // transport reports the refusal, fails it at once with PeerUnreachableError).
  Client plain("server");
  plain.connect(endpoint);
  const auto plain_started = Clock::now();
  std::exception_ptr error;
  try {
    plain.call<std::string>("ping", CallOptions{.timeout = timeout});
  } catch (...) {
    error = std::current_exception();
  }
  const double ms = ms_between(plain_started, Clock::now());
  const std::string kind = error_kind(error);
  figure("%s, server never started, default call: %s after %.1f ms for a %lld ms timeout", transport.c_str(),
         kind.c_str(), ms, static_cast<long long>(timeout.count()));
  if (kind == "TimeoutError") {
    EXPECT_GE(ms, low);
    EXPECT_LE(ms, high);
  } else {
    EXPECT_EQ(kind, "PeerUnreachableError") << error_text(error);
    EXPECT_LE(ms, high);
  }
  EXPECT_EQ(client.stats().pending_calls, 0u);
  EXPECT_EQ(plain.stats().pending_calls, 0u);
}

}  // namespace
}  // namespace pseud::faults
