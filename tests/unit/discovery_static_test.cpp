// The in-process discovery backend: registrations, lookups, watches, limits,
// and make_discovery's addresses.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "discovery/static_discovery.hpp"
#include "pseud/discovery.hpp"
#include "watch_recorder.hpp"
#include "pseud/errors.hpp"

namespace {

using namespace std::chrono_literals;
using pseud::InstanceRecord;
using Clock = std::chrono::steady_clock;

InstanceRecord record(const std::string& service, const std::string& instance) {
  InstanceRecord r;
  r.service = service;
  r.instance = instance;
  r.endpoints = {"tcp://127.0.0.1:" + std::to_string(1000 + instance.size())};
  return r;
}

using Recorder = pseud::test::WatchRecorder;

TEST(DiscoveryStatic, RegisterLookupWithdraw) {
  auto discovery = pseud::make_static_discovery();
  EXPECT_TRUE(discovery->lookup("echo").empty());
  auto a = discovery->register_instance(record("echo", "a"));
  auto b = discovery->register_instance(record("echo", "b"));
  auto other = discovery->register_instance(record("other", "a"));
  auto found = discovery->lookup("echo");
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0].instance, "a");
  EXPECT_EQ(found[0].routing_id, "echo@a");  // filled in
  EXPECT_EQ(found[1].instance, "b");
  a->withdraw();
  a->withdraw();  // idempotent
  ASSERT_EQ(discovery->lookup("echo").size(), 1u);
  b.reset();  // destroying withdraws
  EXPECT_TRUE(discovery->lookup("echo").empty());
  EXPECT_EQ(discovery->lookup("other").size(), 1u);
}

TEST(DiscoveryStatic, SharedByItsHolders) {
  auto discovery = pseud::make_static_discovery();
  auto same = discovery;
  auto registration = discovery->register_instance(record("echo", "a"));
  EXPECT_EQ(same->lookup("echo").size(), 1u);
  EXPECT_TRUE(pseud::make_static_discovery()->lookup("echo").empty()) << "a new table is a new table";
}

TEST(DiscoveryStatic, BadRecordsAreRefused) {
  auto discovery = pseud::make_static_discovery();
  EXPECT_THROW(discovery->register_instance(record("", "a")), pseud::UsageError);
  EXPECT_THROW(discovery->register_instance(record("echo", "")), pseud::UsageError);
  EXPECT_THROW(discovery->register_instance(record("echo", "a/b")), pseud::UsageError);
  auto no_endpoint = record("echo", "a");
  no_endpoint.endpoints.clear();
  EXPECT_THROW(discovery->register_instance(no_endpoint), pseud::UsageError);
  EXPECT_THROW(discovery->watch("echo", nullptr), pseud::UsageError);
}

TEST(DiscoveryStatic, WatchSeesAddsAndRemovesOnItsOwnThread) {
  auto discovery = pseud::make_static_discovery();
  auto a = discovery->register_instance(record("echo", "a"));
  Recorder recorder;
  auto watch = discovery->watch("echo", recorder.callback());
  ASSERT_TRUE(recorder.wait_for_count(1, 2000ms));
  EXPECT_NE(recorder.thread(), std::this_thread::get_id());
  auto b = discovery->register_instance(record("echo", "b"));
  ASSERT_TRUE(recorder.wait_for_count(2, 2000ms));
  a->withdraw();
  ASSERT_TRUE(recorder.wait_for_count(1, 2000ms));
  EXPECT_EQ(recorder.last().at(0).instance, "b");
  b->withdraw();
  ASSERT_TRUE(recorder.wait_for_count(0, 2000ms));
}

TEST(DiscoveryStatic, ReplacingAnInstanceKeepsTheNewerRecord) {
  auto discovery = pseud::make_static_discovery();
  auto first = discovery->register_instance(record("echo", "a"));
  auto newer = record("echo", "a");
  newer.version = "2";
  auto second = discovery->register_instance(newer);
  first->withdraw();  // it no longer owns the record
  ASSERT_EQ(discovery->lookup("echo").size(), 1u);
  EXPECT_EQ(discovery->lookup("echo")[0].version, "2");
}

TEST(DiscoveryStatic, DestroyedWatchIsNeverCalledAgain) {
  auto discovery = pseud::make_static_discovery();
  Recorder stopped;
  Recorder witness;
  auto watch = discovery->watch("echo", stopped.callback());
  auto other = discovery->watch("echo", witness.callback());
  ASSERT_TRUE(stopped.wait_for_count(0, 2000ms));
  ASSERT_TRUE(witness.wait_for_count(0, 2000ms));
  watch.reset();
  const auto calls = stopped.calls();
  auto a = discovery->register_instance(record("echo", "a"));
  ASSERT_TRUE(witness.wait_for_count(1, 2000ms));  // the change went out
  EXPECT_EQ(stopped.calls(), calls);
}

TEST(DiscoveryStatic, DestroyingAWatchWaitsForItsRunningCallback) {
  auto discovery = pseud::make_static_discovery();
  std::mutex mutex;
  std::condition_variable changed;
  bool entered = false;
  bool release = false;
  std::atomic<bool> finished{false};
  auto watch = discovery->watch("echo", [&](const std::vector<InstanceRecord>&) {
    std::unique_lock lock(mutex);
    if (entered) return;
    entered = true;
    changed.notify_all();
    changed.wait_for(lock, 5s, [&] { return release; });
    finished = true;
  });
  {
    std::unique_lock lock(mutex);
    ASSERT_TRUE(changed.wait_for(lock, 2s, [&] { return entered; }));
  }
  std::atomic<bool> destroyed_before_finish{false};
  std::thread destroyer([&] {
    watch.reset();
    destroyed_before_finish = !finished.load();
  });
  {
    std::lock_guard lock(mutex);
    release = true;
  }
  changed.notify_all();
  destroyer.join();
  EXPECT_FALSE(destroyed_before_finish.load());
  EXPECT_TRUE(finished.load());
}

TEST(DiscoveryStatic, AWatchMayDestroyItselfFromItsCallback) {
  auto discovery = pseud::make_static_discovery();
  std::mutex mutex;
  std::condition_variable changed;
  std::unique_ptr<pseud::Watch> watch;
  bool done = false;
  {
    std::lock_guard lock(mutex);
    watch = discovery->watch("echo", [&](const std::vector<InstanceRecord>&) {
      std::lock_guard inner(mutex);
      watch.reset();
      done = true;
      changed.notify_all();
    });
  }
  std::unique_lock lock(mutex);
  ASSERT_TRUE(changed.wait_for(lock, 2s, [&] { return done; }));
  EXPECT_EQ(watch, nullptr);
}

TEST(DiscoveryStatic, LimitsAreKept) {
  pseud::detail::discovery::StaticLimits limits;
  limits.records_per_service = 2;
  limits.records_total = 3;
  limits.watches = 2;
  auto discovery = pseud::detail::discovery::make_static_discovery(limits);
  auto a = discovery->register_instance(record("echo", "a"));
  auto b = discovery->register_instance(record("echo", "b"));
  EXPECT_THROW(discovery->register_instance(record("echo", "c")), pseud::UsageError);
  auto again = discovery->register_instance(record("echo", "a"));  // a replacement is no new record
  auto other = discovery->register_instance(record("other", "a"));
  EXPECT_THROW(discovery->register_instance(record("third", "a")), pseud::UsageError);
  EXPECT_TRUE(discovery->lookup("third").empty());
  other->withdraw();
  auto third = discovery->register_instance(record("third", "a"));

  auto w1 = discovery->watch("echo", [](const auto&) {});
  auto w2 = discovery->watch("echo", [](const auto&) {});
  EXPECT_THROW(discovery->watch("echo", [](const auto&) {}), pseud::UsageError);
  w1.reset();
  auto w3 = discovery->watch("echo", [](const auto&) {});
}

TEST(DiscoveryStatic, DefaultLimitPerService) {
  auto discovery = pseud::make_static_discovery();
  std::vector<std::unique_ptr<pseud::Registration>> registrations;
  for (std::size_t i = 0; i < pseud::detail::discovery::max_records_per_service; ++i) {
    registrations.push_back(discovery->register_instance(record("echo", "i" + std::to_string(i))));
  }
  try {
    discovery->register_instance(record("echo", "one-too-many"));
    FAIL() << "the table took more than its limit";
  } catch (const pseud::UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("10000"), std::string::npos) << e.what();
  }
  EXPECT_EQ(discovery->lookup("echo").size(), pseud::detail::discovery::max_records_per_service);
}

TEST(MakeDiscovery, Addresses) {
  EXPECT_NE(pseud::make_discovery("static"), nullptr);
  for (const char* bad : {"", "etcd", "etcd://", "etcd://host", "etcd://:2379", "etcd://127.0.0.1:0",
                          "etcd://127.0.0.1:65536", "etcd://127.0.0.1:23x", "etcd://a b:1", "zk://127.0.0.1:2181",
                          "http://127.0.0.1:2379"}) {
    EXPECT_THROW(pseud::make_discovery(bad), pseud::UsageError) << bad;
  }
  try {
    pseud::make_discovery("consul://x");
    FAIL();
  } catch (const pseud::UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("etcd://HOST:PORT"), std::string::npos) << e.what();
  }
#if PSEUD_WITH_ETCD
  EXPECT_NE(pseud::make_discovery("etcd://127.0.0.1:2379"), nullptr);  // lazy: nothing sent yet
  EXPECT_NE(pseud::make_discovery("etcd://localhost:2379"), nullptr);
#else
  EXPECT_THROW(pseud::make_discovery("etcd://127.0.0.1:2379"), pseud::UsageError);
#endif
}

}  // namespace
