// Metrics per function (Peer::metrics(), pseud.metrics), per-call debug log
// lines, and the warning for a handler that holds the engine thread.

#include <atomic>
#include <mutex>
#include <random>
#include <thread>

#include <gtest/gtest.h>

#include "pseud/pseud.hpp"
#include "test_support.hpp"

namespace pseud::test {
namespace {

struct Fixture {
  explicit Fixture(PeerOptions server_options = {}) {
    server = std::make_unique<Server>("server", std::move(server_options));
    server->register_rpc("add", [](int a, int b) { return a + b; });
    server->register_rpc("fail", []() -> int { throw std::invalid_argument("no"); });
    client.connect(server->bind("tcp://127.0.0.1:*"));
  }
  std::unique_ptr<Server> server;
  Client client{"server", PeerOptions{.routing_id = "client-1"}};
};

TEST(Metrics, CountCallsErrorsAndLatencyBothWays) {
  Fixture f;
  for (int i = 0; i < 100; ++i) EXPECT_EQ(f.client.call<int>("add", i, 1, CallOptions{.timeout = bound}), i + 1);
  for (int i = 0; i < 3; ++i) EXPECT_THROW(f.client.call<int>("fail", CallOptions{.timeout = bound}), RemoteError);

  const MetricsSnapshot server = f.server->metrics();
  const auto add = server.find("add");
  ASSERT_TRUE(add);
  EXPECT_EQ(add->calls, 100u);
  EXPECT_EQ(add->errors, 0u);
  EXPECT_EQ(add->in_flight, 0u);
  EXPECT_GT(add->p50.count(), 0);
  EXPECT_LE(add->p50, add->p90);
  EXPECT_LE(add->p90, add->p99);
  EXPECT_LE(add->p99, add->max);
  const auto fail = server.find("fail");
  ASSERT_TRUE(fail);
  EXPECT_EQ(fail->calls, 3u);
  EXPECT_EQ(fail->errors, 3u);

  const MetricsSnapshot client = f.client.metrics();
  const auto sent = client.find("add", CallDirection::outgoing);
  ASSERT_TRUE(sent);
  EXPECT_EQ(sent->calls, 100u);
  // A call's round trip is longer than the handler's part of it.
  EXPECT_GE(sent->p50, add->p50);
  EXPECT_FALSE(client.find("add", CallDirection::incoming));
  std::printf("add: server p50 %.3f ms p99 %.3f ms; client p50 %.3f ms p99 %.3f ms\n",
              add->p50.count() / 1e6, add->p99.count() / 1e6, sent->p50.count() / 1e6, sent->p99.count() / 1e6);
}

TEST(Metrics, TenThousandCallsAreCountedExactly) {
  Fixture f;
  constexpr int total = 10000;
  constexpr int window = 100;
  int failures = 0;
  for (int sent = 0; sent < total; sent += window) {
    std::vector<std::future<int>> calls;
    for (int i = 0; i < window; ++i) {
      // One call in ten fails: errors are counted apart.
      calls.push_back((sent + i) % 10 == 0 ? f.client.async_call<int>("fail", CallOptions{.timeout = bound})
                                           : f.client.async_call<int>("add", 1, 2, CallOptions{.timeout = bound}));
    }
    for (auto& call : calls) {
      try {
        get_within(call);
      } catch (const RemoteError&) {
        ++failures;
      }
    }
  }
  EXPECT_EQ(failures, total / 10);
  const MetricsSnapshot server = f.server->metrics();
  const MetricsSnapshot client = f.client.metrics();
  ASSERT_TRUE(server.find("add"));
  ASSERT_TRUE(server.find("fail"));
  EXPECT_EQ(server.find("add")->calls, 9000u);
  EXPECT_EQ(server.find("fail")->calls, 1000u);
  EXPECT_EQ(server.find("fail")->errors, 1000u);
  ASSERT_TRUE(client.find("add", CallDirection::outgoing));
  EXPECT_EQ(client.find("add", CallDirection::outgoing)->calls, 9000u);
  EXPECT_EQ(client.find("add", CallDirection::outgoing)->errors, 0u);
  EXPECT_EQ(client.find("fail", CallDirection::outgoing)->errors, 1000u);
  EXPECT_EQ(client.find("add", CallDirection::outgoing)->in_flight, 0u);
}

TEST(Metrics, CountCallsInFlight) {
  Fixture f;
  std::atomic<bool> release{false};
  f.server->register_rpc("wait", [&] {
    while (!release.load()) std::this_thread::sleep_for(1ms);
    return 0;
  }, {.blocking = true});
  std::vector<std::future<int>> calls;
  for (int i = 0; i < 3; ++i) calls.push_back(f.client.async_call<int>("wait", CallOptions{.timeout = bound}));
  EXPECT_TRUE(eventually([&] {
    const auto entry = f.server->metrics().find("wait");
    return entry && entry->in_flight == 3;
  }));
  EXPECT_EQ(f.client.metrics().find("wait", CallDirection::outgoing)->in_flight, 3u);
  release = true;
  for (auto& call : calls) EXPECT_EQ(get_within(call), 0);
  EXPECT_EQ(f.server->metrics().find("wait")->in_flight, 0u);
  EXPECT_EQ(f.server->metrics().find("wait")->calls, 3u);
}

TEST(Metrics, NamesACallerMakesUpDoNotFillTheTable) {
  Fixture f;
  std::mt19937 random(7);
  for (int i = 0; i < 500; ++i) {
    const std::string name = "made_up_" + std::to_string(random());
    EXPECT_THROW(f.client.call<int>(name, CallOptions{.timeout = bound}), ServiceNotFoundError);
  }
  const MetricsSnapshot snapshot = f.server->metrics();
  const auto unknown = snapshot.find(metrics_unknown);
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->calls, 500u);
  EXPECT_EQ(unknown->refused, 500u);
  for (const FunctionMetrics& entry : snapshot.functions) {
    EXPECT_EQ(entry.function.find("made_up_"), std::string::npos) << entry.function;
  }
}

TEST(Metrics, ABoundedNumberOfNamesGetTheirOwnCounters) {
  PeerOptions options;
  options.max_metrics_functions = 3;
  Fixture f(options);
  for (int i = 0; i < 10; ++i) f.server->register_rpc("f" + std::to_string(i), [] { return 1; });
  for (int i = 0; i < 10; ++i) f.client.call<int>("f" + std::to_string(i), CallOptions{.timeout = bound});
  const MetricsSnapshot snapshot = f.server->metrics();
  std::size_t own = 0;
  for (const FunctionMetrics& entry : snapshot.functions) own += entry.function.starts_with("f") ? 1 : 0;
  EXPECT_EQ(own, 3u);
  const auto other = snapshot.find(metrics_other);
  ASSERT_TRUE(other);
  EXPECT_EQ(other->calls, 7u);
}

TEST(Metrics, OffCountsNothing) {
  PeerOptions options;
  options.metrics = false;
  Fixture f(options);
  EXPECT_EQ(f.client.call<int>("add", 1, 2, CallOptions{.timeout = bound}), 3);
  EXPECT_TRUE(f.server->metrics().functions.empty());
}

TEST(Metrics, RemoteCallersCannotReadThemByDefault) {
  Fixture f;
  EXPECT_THROW(f.client.call(metrics_function, CallOptions{.timeout = bound}), ServiceNotFoundError);
  // Nor do they see the function in the listing.
  const auto listing = f.client.call(introspection_function, CallOptions{.timeout = bound});
  std::ostringstream text;
  text << listing.get();
  EXPECT_EQ(text.str().find("pseud.metrics"), std::string::npos) << text.str();
}

TEST(Metrics, ACallerTheirPredicateAcceptsReadsThem) {
  PeerOptions options;
  options.metrics_access = [](const PredicateArgs&) { return true; };
  Fixture f(options);
  for (int i = 0; i < 5; ++i) f.client.call<int>("add", 1, 2, CallOptions{.timeout = bound});
  const auto reply = f.client.call<MetricsReport>(metrics_function, CallOptions{.timeout = bound});
  EXPECT_EQ(reply.peer, "server");
  const auto add = std::find_if(reply.functions.begin(), reply.functions.end(),
                                [](const MetricsReportRow& row) { return row.function == "add" && row.side == "incoming"; });
  ASSERT_NE(add, reply.functions.end());
  EXPECT_EQ(add->calls, 5u);
  EXPECT_GT(add->p50_ms, 0.0);
  EXPECT_LE(add->p50_ms, add->max_ms);
}

// Collects the log lines of one test; restores silence after.
class LogLines {
 public:
  explicit LogLines(LogLevel minimum) {
    set_log_handler([this](LogLevel level, std::string_view message) {
      std::lock_guard lock(mutex_);
      lines_.emplace_back(level, std::string(message));
    }, minimum);
  }
  ~LogLines() { set_log_handler(nullptr); }
  std::vector<std::string> containing(std::string_view text, LogLevel level) const {
    std::lock_guard lock(mutex_);
    std::vector<std::string> out;
    for (const auto& [l, line] : lines_) {
      if (l == level && line.find(text) != std::string::npos) out.push_back(line);
    }
    return out;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::pair<LogLevel, std::string>> lines_;
};

TEST(CallLogs, ACallLogsReceivedStartedAndItsOutcomeAtDebug) {
  LogLines logs(LogLevel::debug);
  PeerOptions options;
  options.metrics = false;  // the lines need no metrics
  Fixture f(options);
  EXPECT_EQ(f.client.call<int>("add", 1, 2, CallOptions{.timeout = bound}), 3);
  EXPECT_THROW(f.client.call<int>("fail", CallOptions{.timeout = bound}), RemoteError);
  EXPECT_EQ(logs.containing("received 'add' from 'client-1'", LogLevel::debug).size(), 1u);
  EXPECT_EQ(logs.containing("started 'add' from 'client-1'", LogLevel::debug).size(), 1u);
  const auto ended = logs.containing("'add' from 'client-1': ok in ", LogLevel::debug);
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_NE(ended[0].find(" ms"), std::string::npos) << ended[0];
  EXPECT_EQ(logs.containing("'fail' from 'client-1': error ValueError in ", LogLevel::debug).size(), 1u);
  // The caller's side.
  EXPECT_EQ(logs.containing("calling 'add' to 'server'", LogLevel::debug).size(), 1u);
  EXPECT_EQ(logs.containing("'add' to 'server': ok in ", LogLevel::debug).size(), 1u);
}

TEST(CallLogs, NothingIsLoggedPerCallAboveDebug) {
  LogLines logs(LogLevel::info);
  Fixture f;
  EXPECT_EQ(f.client.call<int>("add", 1, 2, CallOptions{.timeout = bound}), 3);
  EXPECT_TRUE(logs.containing("'add'", LogLevel::info).empty());
  EXPECT_TRUE(logs.containing("'add'", LogLevel::debug).empty());
}

TEST(CallLogs, AHandlerHoldingTheEngineThreadIsAWarning) {
  LogLines logs(LogLevel::warning);
  Fixture f;
  // The sleeps are the handlers' work: what the warning is about.
  f.server->register_rpc("hog", [] { std::this_thread::sleep_for(150ms); return 1; });
  f.server->register_rpc("brief", [] { std::this_thread::sleep_for(20ms); return 1; });
  f.server->register_rpc("hog_on_worker", [] { std::this_thread::sleep_for(150ms); return 1; }, {.blocking = true});
  f.client.call<int>("hog", CallOptions{.timeout = bound});
  f.client.call<int>("brief", CallOptions{.timeout = bound});
  f.client.call<int>("hog_on_worker", CallOptions{.timeout = bound});
  const auto warnings = logs.containing("held the engine thread", LogLevel::warning);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("'hog'"), std::string::npos) << warnings[0];
  EXPECT_NE(warnings[0].find("blocking = true"), std::string::npos) << warnings[0];
}

}  // namespace
}  // namespace pseud::test
