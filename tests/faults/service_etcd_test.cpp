// Instances of one service found through a real etcd (tests/support/etcd_server.*):
// three fault_peer servers publish themselves with a 2 s lease, a
// ServiceClient follows the service (connect_service), and one instance is
// killed with SIGKILL while calls run:
//   * it leaves the discovered set (etcd's lookup and the ServiceClient's
//     instances) when its lease expires, within TTL + 1 s;
//   * the non-idempotent calls it held fail typed (OutcomeUnknownError or
//     PeerGoneError) and are never run by another instance: every call runs
//     at most once in all, each success on the instance that answered it,
//     each failure on none of the survivors;
//   * once it has left, 200 calls all go to the two survivors, none fails.
// And a new instance that registers serves calls within a second.
// Skipped, saying why, when etcd is not installed.

#include <signal.h>

#include <atomic>
#include <map>
#include <set>
#include <thread>

#include "etcd_server.hpp"
#include "fault_support.hpp"
#include "test_support.hpp"

namespace pseud::faults {
namespace {

using test::ChildProcess;
using test::EtcdServer;

constexpr int ttl_s = 2;  // etcd's smallest lease (3/2 of its 1 s election timeout, rounded up)

// A child's stdout, read on a thread of its own (a talkative child never
// blocks on a full pipe), every line kept.
class LineLog {
 public:
  explicit LineLog(ChildProcess& child) : child_(child), reader_([this](std::stop_token stop) { read(stop); }) {}
  LineLog(const LineLog&) = delete;
  LineLog& operator=(const LineLog&) = delete;

  // The first line starting with `prefix`, waiting for it at most `limit`.
  std::optional<std::string> wait_for(const std::string& prefix, std::chrono::milliseconds limit) {
    std::unique_lock lock(mutex_);
    std::optional<std::string> found;
    changed_.wait_for(lock, limit, [&] {
      for (const auto& line : lines_) {
        if (line.rfind(prefix, 0) == 0) {
          found = line;
          return true;
        }
      }
      return ended_;
    });
    return found;
  }
  // Waits (at most `limit`) for the child's stdout to close: true when it did.
  bool wait_for_end(std::chrono::milliseconds limit) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, limit, [&] { return ended_; });
  }
  std::vector<std::string> lines() const {
    std::lock_guard lock(mutex_);
    return lines_;
  }

 private:
  void read(const std::stop_token& stop) {
    while (!stop.stop_requested()) {
      auto line = child_.read_line(100ms);
      std::lock_guard lock(mutex_);
      if (line) lines_.push_back(std::move(*line));
      ended_ = child_.at_end();
      changed_.notify_all();
      if (ended_) return;
    }
  }

  ChildProcess& child_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::string> lines_;
  bool ended_ = false;
  std::jthread reader_;  // last: stopped and joined before the rest goes
};

// A fault_peer server that publishes itself in etcd.
struct Instance {
  std::unique_ptr<ChildProcess> child;
  std::unique_ptr<LineLog> log;  // destroyed before `child`: the destructor runs in reverse order
  std::string endpoint;
};

std::unique_ptr<Instance> start_instance(const std::string& id, const std::string& etcd) {
  auto instance = std::make_unique<Instance>();
  instance->child = std::make_unique<ChildProcess>(
      fault_peer_path(),
      std::vector<std::string>{"server", "--instance", id, "--register", etcd, "--ttl", std::to_string(ttl_s),
                               "--heartbeat", "noop", "--serve-blocking-seconds", "30"},
      fault_peer_options);
  instance->log = std::make_unique<LineLog>(*instance->child);
  if (const auto line = instance->log->wait_for("endpoint ", 5000ms)) instance->endpoint = line->substr(9);
  return instance;
}

std::set<std::string> listed(const ServiceClient& client, bool alive_only) {
  std::set<std::string> ids;
  for (const InstanceStatus& status : client.instances()) {
    if (status.alive || !alive_only) ids.insert(status.instance);
  }
  return ids;
}

bool looked_up(Discovery& discovery, const std::string& id) {
  try {
    for (const InstanceRecord& record : discovery.lookup("server")) {
      if (record.instance == id) return true;
    }
    return false;
  } catch (const DiscoveryError&) {
    return true;  // not known to be gone
  }
}

// How each call of work(tag, ...) ended: the instance that answered, or the error's kind.
class Ledger {
 public:
  void note(const std::string& tag, const std::string& outcome) {
    std::lock_guard lock(mutex_);
    outcomes_[tag] = outcome;
  }
  std::map<std::string, std::string> all() const {
    std::lock_guard lock(mutex_);
    return outcomes_;
  }
  long answered_by(const std::string& id) const {
    std::lock_guard lock(mutex_);
    long n = 0;
    for (const auto& [tag, outcome] : outcomes_) n += outcome == "=" + id ? 1 : 0;
    return n;
  }

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::string> outcomes_;
};

// Runs work(tag, seconds), non-idempotent, and notes how it ended: "=ID" or the error's kind.
void run_work(ServiceClient& client, Ledger& ledger, const std::string& tag, double seconds) {
  try {
    ledger.note(tag, "=" + client.call<std::string>("work", tag, seconds, CallOptions{.timeout = 10000ms}));
  } catch (const std::exception&) {
    const auto error = std::current_exception();
    ledger.note(tag, error_kind(error) + ": " + error_text(error));
  }
}

TEST(ServiceEtcd, AKilledInstanceLeavesWithItsLeaseAndNoCallIsRunTwiceOrRoutedToItAfter) {
  if (!EtcdServer::installed()) {
    GTEST_SKIP() << "etcd-server is not installed (" << EtcdServer::program()
                 << " not found): apt-get install etcd-server";
  }
  EtcdServer etcd;
  std::map<std::string, std::unique_ptr<Instance>> servers;
  for (const char* id : {"a", "b", "c"}) {
    servers[id] = start_instance(id, etcd.address());
    ASSERT_FALSE(servers[id]->endpoint.empty()) << "instance " << id << " printed no endpoint";
    ASSERT_TRUE(servers[id]->log->wait_for("registered", 5000ms)) << "instance " << id << " did not register";
  }
  auto discovery = make_discovery(etcd.address());
  ServiceClient client("server");
  const auto following = Clock::now();
  client.connect_service(discovery);
  ASSERT_TRUE(test::eventually([&] { return listed(client, true).size() == 3; }, 5000ms * latency_factor()))
      << "the ServiceClient did not find the 3 instances";
  const double found_ms = ms_between(following, Clock::now());

  // Non-idempotent calls that hold each instance (round robin: 2 each), and
  // fast ones from two threads, all of work(tag): "ran TAG" in the log of the
  // instance that runs it.
  Ledger ledger;
  std::vector<std::thread> slow;
  for (int i = 0; i < 6; ++i) {
    slow.emplace_back([&, i] { run_work(client, ledger, "slow-" + std::to_string(i), 2.0); });
  }
  std::map<std::string, std::string> slow_ran_on;  // tag -> instance
  const bool slow_started = test::eventually([&] {
    for (const auto& [id, server] : servers) {
      for (const auto& line : server->log->lines()) {
        if (line.rfind("ran slow-", 0) == 0) slow_ran_on[line.substr(4)] = id;
      }
    }
    return slow_ran_on.size() == 6;
  }, 5000ms * latency_factor());
  std::atomic<bool> stop_fast{false};
  std::vector<std::thread> fast;
  for (int t = 0; t < 2; ++t) {
    fast.emplace_back([&, t] {
      for (long n = 0; !stop_fast; ++n) run_work(client, ledger, "fast-" + std::to_string(t) + "-" + std::to_string(n), 0);
    });
  }
  auto join_all = [&] {
    stop_fast = true;
    for (auto& thread : fast) thread.join();
    for (auto& thread : slow) thread.join();
    fast.clear();
    slow.clear();
  };
  const bool b_busy = test::eventually([&] { return ledger.answered_by("b") >= 20; }, 5000ms * latency_factor());
  if (!slow_started || !b_busy) {
    join_all();
    FAIL() << "the calls did not spread: " << slow_ran_on.size() << " of 6 slow calls started, b answered "
           << ledger.answered_by("b") << " fast calls";
  }
  const long held_by_b = std::count_if(slow_ran_on.begin(), slow_ran_on.end(), [](const auto& r) { return r.second == "b"; });

  // SIGKILL b, then watch it leave etcd and the ServiceClient.
  const auto killed = Clock::now();
  servers["b"]->child->signal(SIGKILL);
  const auto limit = std::chrono::milliseconds(ttl_s * 1000 + 1000 * latency_factor());
  // The ServiceClient's list (in memory) polled on a thread of its own every
  // millisecond, etcd's lookup (an HTTP request) here every 2 ms.
  std::optional<double> lookup_ms;
  std::atomic<double> client_ms{-1};
  std::jthread client_poll([&](std::stop_token stop) {
    while (!stop.stop_requested() && Clock::now() < killed + limit + 2000ms) {
      if (!listed(client, false).contains("b")) {
        client_ms = ms_between(killed, Clock::now());
        return;
      }
      std::this_thread::sleep_for(1ms);  // polling step
    }
  });
  while (!lookup_ms && Clock::now() < killed + limit + 2000ms) {
    if (!looked_up(*discovery, "b")) lookup_ms = ms_between(killed, Clock::now());
    std::this_thread::sleep_for(2ms);  // polling step (each lookup is an HTTP request to etcd)
  }
  client_poll.join();
  const bool b_ended = servers["b"]->log->wait_for_end(5000ms);
  join_all();

  // After it left: 200 calls (non-idempotent), all to the survivors.
  std::map<std::string, int> after;
  int after_failures = 0;
  std::string first_failure;
  for (int i = 0; i < 200; ++i) {
    try {
      ++after[client.call<std::string>("server_instance", CallOptions{.timeout = 5000ms})];
    } catch (const std::exception& e) {
      if (after_failures++ == 0) first_failure = e.what();
    }
  }

  // Where each call ran (the logs), against how it ended (the ledger).
  std::map<std::string, std::vector<std::string>> ran_on;  // tag -> instances that ran it
  for (const auto& [id, server] : servers) {
    for (const auto& line : server->log->lines()) {
      if (line.rfind("ran ", 0) == 0) ran_on[line.substr(4)].push_back(id);
    }
  }
  const auto outcomes = ledger.all();
  long succeeded = 0, ran_twice = 0, misattributed = 0, failed_but_ran_on_survivor = 0, untyped = 0;
  std::map<std::string, int> failure_kinds;
  std::string first_problem;
  auto problem = [&](const std::string& text) {
    if (first_problem.empty()) first_problem = text;
  };
  for (const auto& [tag, ran] : ran_on) {
    if (ran.size() > 1) {
      ++ran_twice;
      problem(tag + " ran on " + std::to_string(ran.size()) + " instances");
    }
  }
  for (const auto& [tag, outcome] : outcomes) {
    const auto& ran = ran_on[tag];
    if (outcome.rfind("=", 0) == 0) {
      ++succeeded;
      if (std::find(ran.begin(), ran.end(), outcome.substr(1)) == ran.end()) {
        ++misattributed;
        problem(tag + " answered by " + outcome.substr(1) + " but not in its log");
      }
      continue;
    }
    const std::string kind = outcome.substr(0, outcome.find(':'));
    ++failure_kinds[kind];
    if (kind != "OutcomeUnknownError" && kind != "PeerGoneError") {
      ++untyped;
      problem(tag + ": " + outcome);
    }
    for (const auto& id : ran) {
      if (id != "b") {
        ++failed_but_ran_on_survivor;
        problem(tag + " failed (" + outcome + ") yet ran on " + id);
      }
    }
  }
  std::string kinds_text;
  for (const auto& [kind, n] : failure_kinds) kinds_text += " " + kind + "=" + std::to_string(n);
  long slow_b_failed = 0, slow_survivors_ok = 0;
  for (const auto& [tag, id] : slow_ran_on) {
    const auto& outcome = outcomes.at(tag);
    if (id == "b") slow_b_failed += outcome.rfind("=", 0) != 0 ? 1 : 0;
    if (id != "b") slow_survivors_ok += outcome == "=" + id ? 1 : 0;
  }

  figure("etcd + ServiceClient, 3 instances (TTL %d s), found in %.0f ms; instance b SIGKILLed: gone from etcd's "
         "lookup after %.0f ms, from the ServiceClient after %.0f ms (limit %lld ms%s)",
         ttl_s, found_ms, lookup_ms.value_or(-1), client_ms.load(), static_cast<long long>(limit.count()),
         latency_note());
  figure("non-idempotent work() calls around the kill: %zu in all, %ld succeeded, failed:%s; run twice %ld, failed yet "
         "run by a survivor %ld; the %ld slow calls b held failed: %ld, the %ld the survivors held succeeded: %ld",
         outcomes.size(), succeeded, kinds_text.empty() ? " none" : kinds_text.c_str(), ran_twice,
         failed_but_ran_on_survivor, held_by_b, slow_b_failed, 6 - held_by_b, slow_survivors_ok);
  figure("after b left: 200 calls answered a=%d b=%d c=%d, %d failed", after["a"], after["b"], after["c"],
         after_failures);

  EXPECT_TRUE(b_ended) << "b's stdout did not close after SIGKILL";
  ASSERT_TRUE(lookup_ms) << "b was still in etcd's lookup " << (limit + 2000ms).count() << " ms after the kill";
  ASSERT_GE(client_ms.load(), 0.0) << "b was still in the ServiceClient's instances " << (limit + 2000ms).count()
                         << " ms after the kill";
  EXPECT_LE(*lookup_ms, static_cast<double>(limit.count()));
  EXPECT_LE(client_ms.load(), static_cast<double>(limit.count()));
  EXPECT_EQ(listed(client, true), (std::set<std::string>{"a", "c"}));

  EXPECT_GE(held_by_b, 1) << "round robin put none of the 6 slow calls on b";
  EXPECT_EQ(slow_b_failed, held_by_b);
  EXPECT_EQ(slow_survivors_ok, 6 - held_by_b);
  EXPECT_EQ(ran_twice, 0) << first_problem;
  EXPECT_EQ(misattributed, 0) << first_problem;
  EXPECT_EQ(failed_but_ran_on_survivor, 0) << first_problem;
  EXPECT_EQ(untyped, 0) << first_problem;

  EXPECT_EQ(after_failures, 0) << first_failure;
  EXPECT_EQ(after["b"], 0);
  EXPECT_EQ(after["a"] + after["c"], 200);
  EXPECT_GE(after["a"], 50);
  EXPECT_GE(after["c"], 50);
}

TEST(ServiceEtcd, ANewInstanceServesCallsWithinASecondOfRegistering) {
  if (!EtcdServer::installed()) {
    GTEST_SKIP() << "etcd-server is not installed (" << EtcdServer::program()
                 << " not found): apt-get install etcd-server";
  }
  EtcdServer etcd;
  std::map<std::string, std::unique_ptr<Instance>> servers;
  for (const char* id : {"a", "b"}) {
    servers[id] = start_instance(id, etcd.address());
    ASSERT_TRUE(servers[id]->log->wait_for("registered", 5000ms)) << "instance " << id << " did not register";
  }
  ServiceClient client("server");
  client.connect_service(make_discovery(etcd.address()));
  ASSERT_EQ(client.wait_for_alive(2, 5000ms * latency_factor()), 2u);

  servers["d"] = start_instance("d", etcd.address());
  ASSERT_TRUE(servers["d"]->log->wait_for("registered", 5000ms)) << "instance d did not register";
  const auto registered = Clock::now();
  const auto limit = std::chrono::milliseconds(1000 * latency_factor());
  // Round robin: once d is live, one call in three reaches it.
  std::optional<double> first_ms;
  int calls = 0, failures = 0;
  while (!first_ms && Clock::now() < registered + limit + 2000ms) {
    try {
      ++calls;
      if (client.call<std::string>("server_instance", CallOptions{.timeout = 2000ms}) == "d") {
        first_ms = ms_between(registered, Clock::now());
      }
    } catch (const std::exception&) {
      ++failures;
    }
  }
  figure("etcd + ServiceClient: a new instance registered and served its first call %.0f ms later (limit %lld ms%s); "
         "%d calls meanwhile, %d failed",
         first_ms.value_or(-1), static_cast<long long>(limit.count()), latency_note(), calls, failures);
  ASSERT_TRUE(first_ms) << "d served no call within " << (limit + 2000ms).count() << " ms of registering";
  EXPECT_LE(*first_ms, static_cast<double>(limit.count()));
  EXPECT_EQ(failures, 0);
}

}  // namespace
}  // namespace pseud::faults
