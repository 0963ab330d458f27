// The etcd discovery backend against a real etcd (Debian's etcd-server) on
// loopback: registrations, lookups, watches, a registrant killed with
// SIGKILL, etcd restarted, wiped, frozen and down. Each case prints what it
// measured as a "[figure]" line. Skipped, saying so, when etcd is not installed.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "child_process.hpp"
#include "discovery/base64.hpp"
#include "discovery/http_client.hpp"
#include "etcd_server.hpp"
#include "pseud/discovery.hpp"
#include "watch_recorder.hpp"
#include "pseud/errors.hpp"
#include "pseud/log.hpp"

namespace {

using namespace std::chrono_literals;
using pseud::InstanceRecord;
using pseud::test::EtcdServer;
using Clock = std::chrono::steady_clock;

long ms_since(Clock::time_point start) {
  return static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count());
}

// Polls `condition` every 10 ms until it holds or `limit` passes.
template <class Condition>
bool eventually(Condition condition, std::chrono::milliseconds limit) {
  const auto until = Clock::now() + limit;
  while (true) {
    if (condition()) return true;
    if (Clock::now() >= until) return false;
    std::this_thread::sleep_for(10ms);  // polling step
  }
}

InstanceRecord record(const std::string& service, const std::string& instance) {
  InstanceRecord r;
  r.service = service;
  r.instance = instance;
  r.routing_id = service + "@" + instance;
  r.endpoints = {"tcp://127.0.0.1:" + std::to_string(20000 + instance.size()), "ipc:///tmp/" + instance};
  r.version = "1.2.3";
  r.curve_public_key = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
  r.host = "test-host";
  r.pid = 1234;
  r.started = "2026-12-06T09:00:00Z";
  return r;
}

using pseud::test::instance_ids;

using Recorder = pseud::test::WatchRecorder;

// Keeps pseud's log lines (bounded) for checks; the last ones are printed on failure.
class LogCapture {
 public:
  LogCapture() {
    pseud::set_log_handler(
        [this](pseud::LogLevel, std::string_view line) {
          std::lock_guard lock(mutex_);
          if (lines_.size() < 10000) lines_.emplace_back(line);
        },
        pseud::LogLevel::info);
  }
  ~LogCapture() { pseud::set_log_handler({}); }
  std::size_t count(std::string_view part) {
    std::lock_guard lock(mutex_);
    return static_cast<std::size_t>(
        std::count_if(lines_.begin(), lines_.end(), [&](const std::string& l) { return l.find(part) != std::string::npos; }));
  }
  void print() {
    std::lock_guard lock(mutex_);
    for (const auto& line : lines_) std::printf("[log] %s\n", line.c_str());
  }

 private:
  std::mutex mutex_;
  std::vector<std::string> lines_;
};

class DiscoveryEtcd : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!EtcdServer::installed()) {
      GTEST_SKIP() << "etcd-server is not installed (" << EtcdServer::program()
                   << " not found): apt-get install etcd-server";
    }
    etcd_.emplace();
    discovery_ = pseud::make_discovery(etcd_->address());
  }
  void TearDown() override {
    if (HasFailure()) log_.print();
  }

  // POSTs to etcd's gateway directly (what another client, or an operator, does).
  nlohmann::json etcd_post(const std::string& path, const nlohmann::json& body) {
    const auto answer =
        pseud::detail::discovery::http_post(etcd_->client_url() + path, body.dump(), std::chrono::milliseconds(2000));
    EXPECT_EQ(answer.status, 200) << answer.body;
    return nlohmann::json::parse(answer.body);
  }

  std::string key_of(const std::string& service, const std::string& instance) {
    return "/pseud/services/" + service + "/" + instance;
  }

  // The lease a key is under (0: none or no key).
  std::int64_t lease_of(const std::string& key) {
    const auto answer = etcd_post("/v3/kv/range", {{"key", pseud::detail::discovery::base64_encode(key)}});
    if (!answer.contains("kvs") || answer["kvs"].empty() || !answer["kvs"][0].contains("lease")) return 0;
    return std::stoll(answer["kvs"][0]["lease"].get<std::string>());
  }

  bool lookup_has(const std::string& service, const std::set<std::string>& names) {
    try {
      return instance_ids(discovery_->lookup(service)) == names;
    } catch (const pseud::DiscoveryError&) {
      return false;
    }
  }

  LogCapture log_;
  std::optional<EtcdServer> etcd_;
  std::shared_ptr<pseud::Discovery> discovery_;
};

// a) three registrations: lookup returns them intact; a watch sees them, then a withdraw.
TEST_F(DiscoveryEtcd, RegisterLookupWatchWithdraw) {
  std::vector<std::unique_ptr<pseud::Registration>> registrations;
  for (const char* name : {"a", "b", "c"}) registrations.push_back(discovery_->register_instance(record("echo", name)));
  auto found = discovery_->lookup("echo");
  ASSERT_EQ(found.size(), 3u);
  EXPECT_EQ(found[0], record("echo", "a"));
  EXPECT_EQ(found[1], record("echo", "b"));
  EXPECT_EQ(found[2], record("echo", "c"));
  EXPECT_TRUE(discovery_->lookup("other").empty());

  Recorder recorder;
  const auto watch_start = Clock::now();
  auto watch = discovery_->watch("echo", recorder.callback());
  ASSERT_TRUE(recorder.wait_for({"a", "b", "c"}, 2000ms));
  const long first_set_ms = ms_since(watch_start);
  EXPECT_EQ(recorder.last().at(1), record("echo", "b"));

  const auto withdraw_start = Clock::now();
  registrations[1]->withdraw();
  const long withdraw_ms = ms_since(withdraw_start);
  ASSERT_TRUE(recorder.wait_for({"a", "c"}, 1000ms)) << "the watch did not see the withdraw within 1 s";
  const long seen_ms = ms_since(withdraw_start);
  EXPECT_EQ(instance_ids(discovery_->lookup("echo")), (std::set<std::string>{"a", "c"}));
  std::printf("[figure] etcd: first watch set after %ld ms; withdraw() took %ld ms, seen by the watch after %ld ms\n",
              first_set_ms, withdraw_ms, seen_ms);

  // A new instance is seen too.
  const auto add_start = Clock::now();
  auto d = discovery_->register_instance(record("echo", "d"));
  ASSERT_TRUE(recorder.wait_for({"a", "c", "d"}, 1000ms));
  std::printf("[figure] etcd: a new registration seen by the watch after %ld ms\n", ms_since(add_start));
}

// b) a registrant killed with SIGKILL leaves the set when its lease expires.
TEST_F(DiscoveryEtcd, KilledRegistrantLeavesWithItsLease) {
  const char* helper = std::getenv("PSEUD_DISCOVERY_REGISTRANT");
  ASSERT_NE(helper, nullptr) << "PSEUD_DISCOVERY_REGISTRANT is not set (meson test sets it)";
  constexpr int ttl_s = 2;
  pseud::test::ChildProcess child(helper, {etcd_->address(), "echo", "doomed", std::to_string(ttl_s)});
  const auto line = child.read_line(10s);
  ASSERT_TRUE(line && *line == "registered") << "the registrant did not register";
  auto keeper = discovery_->register_instance(record("echo", "keeper"));
  Recorder recorder;
  auto watch = discovery_->watch("echo", recorder.callback());
  ASSERT_TRUE(recorder.wait_for({"doomed", "keeper"}, 2000ms));

  const auto killed = Clock::now();
  child.kill_and_reap();
  const auto limit = std::chrono::milliseconds((ttl_s + 1) * 1000);
  ASSERT_TRUE(eventually([&] { return lookup_has("echo", {"keeper"}); }, limit + 2000ms));
  const long lookup_ms = ms_since(killed);
  ASSERT_TRUE(recorder.wait_for({"keeper"}, 1000ms));
  const long watch_ms = static_cast<long>(
      std::chrono::duration_cast<std::chrono::milliseconds>(recorder.last_change() - killed).count());
  std::printf("[figure] etcd: SIGKILLed registrant (TTL %d s) gone from lookup %ld ms and from the watch %ld ms "
              "after the kill (bound %ld ms)\n",
              ttl_s, lookup_ms, watch_ms, static_cast<long>(limit.count()));
  EXPECT_LE(lookup_ms, limit.count());
  EXPECT_LE(watch_ms, limit.count());
}

// c1) etcd restarted on the same data: the registrations are there when it is back.
TEST_F(DiscoveryEtcd, RestartKeepsRegistrations) {
  std::vector<std::unique_ptr<pseud::Registration>> registrations;
  for (const char* name : {"a", "b", "c"}) registrations.push_back(discovery_->register_instance(record("echo", name)));
  etcd_->stop();
  const auto ready = etcd_->start();
  ASSERT_TRUE(eventually([&] { return lookup_has("echo", {"a", "b", "c"}); }, 3000ms));
  const long back_ms = ms_since(ready);
  std::printf("[figure] etcd: restarted on its data: all 3 registrations in lookup %ld ms after it was ready\n",
              back_ms);
  EXPECT_LE(back_ms, 1000);
}

// c2) etcd restarted empty (data wiped): every registration is published again within 1 s.
TEST_F(DiscoveryEtcd, WipedRestartRepublishesWithinOneSecond) {
  std::vector<std::unique_ptr<pseud::Registration>> registrations;
  for (const char* name : {"a", "b", "c"}) registrations.push_back(discovery_->register_instance(record("echo", name)));
  etcd_->stop();
  etcd_->wipe_data();
  const auto ready = etcd_->start();
  ASSERT_TRUE(eventually([&] { return lookup_has("echo", {"a", "b", "c"}); }, 5000ms))
      << "the registrations did not come back";
  const long back_ms = ms_since(ready);
  std::printf("[figure] etcd: restarted with its data wiped: all 3 registrations back in lookup %ld ms after it was "
              "ready\n",
              back_ms);
  EXPECT_LE(back_ms, 1000);
  EXPECT_EQ(discovery_->lookup("echo")[0], record("echo", "a"));
  EXPECT_LE(log_.count("published /pseud/services/echo/"), 3u * 3u) << "published again once each, give or take";
}

// c3) a lost lease (revoked behind the registration's back): published again within 1 s.
TEST_F(DiscoveryEtcd, RevokedLeaseIsReplacedWithinOneSecond) {
  auto registration = discovery_->register_instance(record("echo", "a"));
  const std::string key = key_of("echo", "a");
  const std::int64_t lease = lease_of(key);
  ASSERT_NE(lease, 0);
  const auto revoked = Clock::now();
  etcd_post("/v3/lease/revoke", {{"ID", std::to_string(lease)}});
  ASSERT_TRUE(eventually([&] { return lease_of(key) != 0 && lease_of(key) != lease; }, 3000ms));
  const long back_ms = ms_since(revoked);
  std::printf("[figure] etcd: lease revoked by someone else: record back under a new lease after %ld ms\n", back_ms);
  EXPECT_LE(back_ms, 1000);
  EXPECT_EQ(discovery_->lookup("echo").at(0), record("echo", "a"));
  registration->withdraw();
  EXPECT_TRUE(discovery_->lookup("echo").empty());
}

// d) etcd down: lookup fails with a helpful DiscoveryError, a watch keeps its set, and recovers.
TEST_F(DiscoveryEtcd, DownThenBack) {
  auto a = discovery_->register_instance(record("echo", "a"));
  auto b = discovery_->register_instance(record("echo", "b"));
  Recorder recorder;
  auto watch = discovery_->watch("echo", recorder.callback());
  ASSERT_TRUE(recorder.wait_for({"a", "b"}, 2000ms));
  const auto calls_before = recorder.calls();

  etcd_->stop();
  const auto down = Clock::now();
  try {
    discovery_->lookup("echo");
    FAIL() << "lookup succeeded with etcd down";
  } catch (const pseud::DiscoveryError& e) {
    const std::string message = e.what();
    std::printf("[figure] etcd: lookup with etcd down failed after %ld ms: %s\n", ms_since(down), message.c_str());
    EXPECT_NE(message.find("127.0.0.1:" + std::to_string(etcd_->client_port())), std::string::npos) << message;
    EXPECT_NE(message.find("check that etcd runs"), std::string::npos) << message;
  }
  EXPECT_LT(ms_since(down), 3000);
  ASSERT_TRUE(eventually([&] { return log_.count("the watch of 'echo' lost etcd") >= 1; }, 2000ms));
  // Observe a while (this measures an absence: several retries of the watch).
  std::this_thread::sleep_for(1000ms);
  EXPECT_EQ(recorder.empty_calls(), 0u);
  EXPECT_EQ(recorder.calls(), calls_before);
  EXPECT_EQ(log_.count("the watch of 'echo' lost etcd"), 1u) << "logged once per outage, not per try";

  const auto ready = etcd_->start();
  auto c = discovery_->register_instance(record("echo", "c"));
  ASSERT_TRUE(recorder.wait_for({"a", "b", "c"}, 2000ms));
  const long seen_ms = ms_since(ready);
  std::printf("[figure] etcd: back up: a new registration seen by the old watch %ld ms after etcd was ready\n",
              seen_ms);
  EXPECT_LE(seen_ms, 1500);
  EXPECT_EQ(recorder.empty_calls(), 0u);
}

// e) withdraw() is bounded in time when etcd is down or frozen.
TEST_F(DiscoveryEtcd, WithdrawIsBoundedWhenEtcdIsGone) {
  auto down = discovery_->register_instance(record("echo", "down"));
  auto frozen = discovery_->register_instance(record("echo", "frozen"));
  auto destroyed = discovery_->register_instance(record("echo", "destroyed"));

  etcd_->freeze();
  auto start = Clock::now();
  frozen->withdraw();
  const long frozen_ms = ms_since(start);
  etcd_->thaw();
  etcd_->stop();
  start = Clock::now();
  down->withdraw();
  const long down_ms = ms_since(start);
  start = Clock::now();
  destroyed.reset();
  const long destroyed_ms = ms_since(start);
  std::printf("[figure] etcd: withdraw() took %ld ms with etcd frozen (SIGSTOP), %ld ms with etcd down; "
              "destroying a registration %ld ms\n",
              frozen_ms, down_ms, destroyed_ms);
  EXPECT_LT(frozen_ms, 3000);
  EXPECT_LT(down_ms, 3000);
  EXPECT_LT(destroyed_ms, 3000);
}

// Destroying a watch stops its thread promptly, even while it waits on a stream.
TEST_F(DiscoveryEtcd, DestroyingAWatchIsPrompt) {
  Recorder recorder;
  auto watch = discovery_->watch("echo", recorder.callback());
  ASSERT_TRUE(recorder.wait_for({}, 2000ms));
  auto start = Clock::now();
  watch.reset();
  const long streaming_ms = ms_since(start);
  etcd_->stop();
  auto retrying = discovery_->watch("echo", recorder.callback());
  ASSERT_TRUE(eventually([&] { return log_.count("the watch of 'echo' lost etcd") >= 1; }, 2000ms));
  start = Clock::now();
  retrying.reset();
  const long retrying_ms = ms_since(start);
  std::printf("[figure] etcd: destroying a watch took %ld ms while streaming, %ld ms while etcd was down\n",
              streaming_ms, retrying_ms);
  EXPECT_LT(streaming_ms, 500);
  EXPECT_LT(retrying_ms, 500);
}

// Records that are not ours, or not records, are skipped (and logged), never fatal.
TEST_F(DiscoveryEtcd, HostileRecordsAreSkipped) {
  auto good = discovery_->register_instance(record("echo", "good"));
  Recorder recorder;
  auto watch = discovery_->watch("echo", recorder.callback());
  ASSERT_TRUE(recorder.wait_for({"good"}, 2000ms));
  auto put = [&](const std::string& instance, const std::string& value) {
    etcd_post("/v3/kv/put", {{"key", pseud::detail::discovery::base64_encode(key_of("echo", instance))},
                             {"value", pseud::detail::discovery::base64_encode(value)}});
  };
  nlohmann::json liar_json = {{"service", "other"}, {"instance", "liar"}, {"routing_id", "other@liar"},
                              {"endpoints", {"tcp://127.0.0.1:1"}}, {"version", ""}, {"curve_public_key", ""},
                              {"host", ""}, {"pid", 1}, {"started", ""}};
  put("garbage", "not json at all");
  put("deep", std::string(100000, '[') + std::string(100000, ']'));
  put("liar", liar_json.dump());
  auto wrong_type = liar_json;
  wrong_type["service"] = "echo";
  wrong_type["instance"] = "typed";
  wrong_type["pid"] = "1";
  put("typed", wrong_type.dump());
  auto valid = liar_json;
  valid["service"] = "echo";
  valid["instance"] = "external";
  put("external", valid.dump());
  ASSERT_TRUE(recorder.wait_for({"good", "external"}, 2000ms));
  EXPECT_EQ(instance_ids(discovery_->lookup("echo")), (std::set<std::string>{"good", "external"}));
  EXPECT_GE(log_.count("skipped the record"), 4u);
}

}  // namespace
