// Instances of one service in processes of their own (tests/faults/fault_peer
// with --instance), called through a ServiceClient with liveness heartbeats:
// an instance that hangs (SIGSTOP) loses its share within (L+1) x H, calls
// that may move do so without errors, and a call it held fails typed and is
// never run elsewhere.

#include <signal.h>

#include <atomic>
#include <map>
#include <thread>

#include "fault_support.hpp"
#include "test_support.hpp"

namespace pseud::faults {
namespace {

using test::ChildProcess;

constexpr long interval_ms = 100;  // H
constexpr long liveness = 3;       // L
const auto detection_limit = std::chrono::milliseconds((liveness + 1) * interval_ms);

struct InstanceProcess {
  std::unique_ptr<ChildProcess> child;
  std::string endpoint;
};

InstanceProcess start_instance(const std::string& id) {
  InstanceProcess instance;
  instance.child = std::make_unique<ChildProcess>(
      fault_peer_path(),
      std::vector<std::string>{"server", "--instance", id, "--heartbeat", "liveness", "--interval-ms",
                               std::to_string(interval_ms), "--liveness", std::to_string(liveness),
                               "--serve-blocking-seconds", "30"},
      fault_peer_options);
  if (const auto line = read_until(*instance.child, "endpoint ", 5s)) instance.endpoint = line->substr(9);
  return instance;
}

ServiceClientOptions with_liveness(Policy policy) {
  ServiceClientOptions options{.policy = policy};
  // require_heartbeats: a busy instance answers calls instead of sending
  // HEARTBEATs, and its silence must count all the same.
  options.peer.heartbeat = {"liveness", {{"interval_ms", std::to_string(interval_ms)},
                                         {"liveness", std::to_string(liveness)},
                                         {"require_heartbeats", "true"}}};
  return options;
}

bool alive(const ServiceClient& client, const std::string& endpoint) {
  for (const InstanceStatus& status : client.instances()) {
    if (status.endpoint == endpoint) return status.alive;
  }
  return false;
}

bool all_alive(const ServiceClient& client) {
  for (const InstanceStatus& status : client.instances()) {
    if (!status.alive) return false;
  }
  return true;
}

TEST(Instances, AHungInstanceLosesItsShareWithinLivenessAndIdempotentCallsMoveWithoutErrors) {
  std::map<std::string, InstanceProcess> servers;
  for (const char* id : {"a", "b", "c"}) {
    servers[id] = start_instance(id);
    ASSERT_FALSE(servers[id].endpoint.empty()) << "instance " << id << " printed no endpoint";
  }
  ServiceClient client("server", with_liveness(Policy::round_robin));
  client.connect({servers["a"].endpoint, servers["b"].endpoint, servers["c"].endpoint});
  ASSERT_TRUE(test::eventually([&] { return all_alive(client); }, 5000ms));

  std::atomic<bool> done{false};
  std::atomic<int> failures{0};
  std::mutex mutex;
  std::map<std::string, int> before, after;  // calls served, before and after the hang was noticed
  std::atomic<bool> noticed{false};
  double slowest_ms = 0;
  std::thread caller([&] {
    while (!done) {
      const auto start = Clock::now();
      try {
        const auto id = client.call<std::string>("server_instance", CallOptions{.timeout = 3000ms, .idempotent = true});
        std::lock_guard lock(mutex);
        ++(noticed ? after : before)[id];
        slowest_ms = std::max(slowest_ms, ms_between(start, Clock::now()));
      } catch (const std::exception& e) {
        ++failures;
        ADD_FAILURE() << e.what();
      }
    }
  });
  ASSERT_TRUE(test::eventually([&] {
    std::lock_guard lock(mutex);
    return before["b"] >= 50;
  }, 10000ms));
  const auto stopped_at = Clock::now();
  servers["b"].child->signal(SIGSTOP);
  const bool detected = test::eventually([&] { return !alive(client, servers["b"].endpoint); }, 3000ms);
  const double detection_ms = ms_between(stopped_at, Clock::now());
  noticed = true;
  // Enough calls after the hang was noticed to see where they go.
  ASSERT_TRUE(test::eventually([&] {
    std::lock_guard lock(mutex);
    return after["a"] + after["c"] >= 200;
  }, 10000ms));
  done = true;
  caller.join();
  servers["b"].child->signal(SIGCONT);
  figure("a hung instance (SIGSTOP) of 3, liveness %ld x %ld ms: out of the set after %.0f ms (limit %lld ms%s); "
         "%d failed calls; after that a=%d b=%d c=%d; slowest call %.0f ms",
         liveness, interval_ms, detection_ms, static_cast<long long>(detection_limit.count() * latency_factor()),
         latency_note(), failures.load(), after["a"], after["b"], after["c"], slowest_ms);
  ASSERT_TRUE(detected);
  EXPECT_LE(detection_ms, static_cast<double>(detection_limit.count() * latency_factor()) + 100.0);
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(after["b"], 0);
}

TEST(Instances, ACallAHungInstanceHeldFailsTypedAndRunsNowhereElse) {
  std::map<std::string, InstanceProcess> servers;
  for (const char* id : {"a", "b"}) {
    servers[id] = start_instance(id);
    ASSERT_FALSE(servers[id].endpoint.empty()) << "instance " << id << " printed no endpoint";
  }
  // first_alive: every call goes to b while it lives.
  ServiceClient client("server", with_liveness(Policy::first_alive));
  client.connect({servers["b"].endpoint, servers["a"].endpoint});
  ASSERT_TRUE(test::eventually([&] { return all_alive(client); }, 5000ms));
  auto held = client.async_call<double>("sleep", 2.0, CallOptions{.timeout = 5000ms});
  ASSERT_TRUE(read_until(*servers["b"].child, "sleeping", 5s)) << "b did not start the call";
  const auto stopped_at = Clock::now();
  servers["b"].child->signal(SIGSTOP);
  bool typed = false;
  try {
    held.get();
  } catch (const OutcomeUnknownError& e) {
    typed = std::string(e.what()).find("may have run") != std::string::npos;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected OutcomeUnknownError, got: " << e.what();
  }
  const double failed_ms = ms_between(stopped_at, Clock::now());
  // Not retried: a never started it.
  const bool ran_elsewhere = read_until(*servers["a"].child, "sleeping", 500ms).has_value();
  EXPECT_EQ(client.call<std::string>("server_instance"), "a");
  servers["b"].child->signal(SIGCONT);
  figure("a non-idempotent call held by a hung instance: OutcomeUnknownError after %.0f ms, run elsewhere: %s",
         failed_ms, ran_elsewhere ? "yes" : "no");
  EXPECT_TRUE(typed);
  EXPECT_FALSE(ran_elsewhere);
  EXPECT_LE(failed_ms, static_cast<double>(detection_limit.count() * latency_factor()) + 100.0);
}

}  // namespace
}  // namespace pseud::faults
