// Notifications (Target::notify): WORK messages whose reply nobody awaits,
// kept in a bounded outbox while their destination is away and sent in
// order when it comes back; drops, expiries and failures are counted.

#include <algorithm>
#include <iostream>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "pseud/pseud.hpp"
#include "refusing_port.hpp"
#include "test_support.hpp"

namespace pseud::test {
namespace {

using Clock = std::chrono::steady_clock;

double ms_between(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

// A server, bound later, that records what `record(i)` received, in order.
class Recorder {
 public:
  explicit Recorder(std::string name = "svc") : server_(std::move(name)) {
    server_.register_rpc("record", [this](int i) {
      const std::lock_guard lock(mutex_);
      seen_.push_back(i);
      last_ = Clock::now();
    });
  }
  void bind(const std::string& endpoint) { server_.bind(endpoint); }
  std::string bind_any() { return server_.bind("tcp://127.0.0.1:*"); }
  Server& server() { return server_; }
  std::size_t count() {
    const std::lock_guard lock(mutex_);
    return seen_.size();
  }
  std::vector<int> seen() {
    const std::lock_guard lock(mutex_);
    return seen_;
  }
  Clock::time_point last() {
    const std::lock_guard lock(mutex_);
    return last_;
  }

 private:
  Server server_;
  std::mutex mutex_;
  std::vector<int> seen_;
  Clock::time_point last_{};
};

std::vector<int> range(int from, int to) {
  std::vector<int> values;
  for (int i = from; i < to; ++i) values.push_back(i);
  return values;
}

// A port nothing listens on until released, below the ephemeral range (so no
// other test's server takes it meanwhile): the server "down".
struct AbsentServer {
  std::optional<RefusingPort> port{RefusingPort::below_ephemeral_range()};
  std::string endpoint = port->endpoint();
  // The server comes back: `recorder` binds where the client looks for it.
  void come_back_as(Recorder& recorder) {
    port.reset();
    recorder.bind(endpoint);
  }
};

TEST(Notifications, AThousandSentWhileTheServerIsDownAreHandledInOrderOnceWhenItComes) {
  AbsentServer absent;
  Client client("svc");
  client.connect(absent.endpoint);
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(client.notify("record", i));
  EXPECT_EQ(client.stats().outbox_messages, 1000u);
  EXPECT_EQ(client.stats().notifications_sent, 0u);

  Recorder recorder;
  const auto back = Clock::now();
  absent.come_back_as(recorder);
  ASSERT_TRUE(eventually([&] { return recorder.count() >= 1000; }, 10s)) << recorder.count() << " handled";
  const auto all_handled = recorder.last();
  ASSERT_TRUE(client.wait_notifications_delivered(5s));
  EXPECT_EQ(recorder.seen(), range(0, 1000));  // in order, none twice, none lost
  const PeerStats stats = client.stats();
  EXPECT_EQ(stats.notifications_sent, 1000u);
  EXPECT_EQ(stats.notifications_failed, 0u);
  EXPECT_EQ(stats.outbox_messages, 0u);
  EXPECT_EQ(stats.outbox_bytes, 0u);
  EXPECT_EQ(stats.calls_sent, 0u);  // notifications are not calls
  EXPECT_EQ(stats.dropped_replies, 0u);  // their OKs were expected
  std::cout << "[figure] 1000 notifications queued while the server was down: all handled, in order, "
            << ms_between(back, all_handled) << " ms after it bound\n";
}

TEST(Notifications, DropOldestKeepsTheLastHundredAndCountsTheRest) {
  AbsentServer absent;
  PeerOptions options;
  options.outbox.max_messages_per_destination = 100;
  options.outbox.overflow = OutboxOverflow::drop_oldest;
  Client client("svc", options);
  client.connect(absent.endpoint);
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(client.notify("record", i));
  EXPECT_EQ(client.stats().notifications_dropped, 900u);
  EXPECT_EQ(client.stats().outbox_messages, 100u);

  Recorder recorder;
  absent.come_back_as(recorder);
  ASSERT_TRUE(client.wait_notifications_delivered(10s));
  EXPECT_EQ(recorder.seen(), range(900, 1000));
  std::cout << "[figure] cap 100, drop_oldest, 1000 sent while down: handled " << recorder.count()
            << " (900..999), dropped " << client.stats().notifications_dropped << "\n";
}

TEST(Notifications, DropNewKeepsTheFirstAndSaysSo) {
  AbsentServer absent;
  PeerOptions options;
  options.outbox.max_messages_per_destination = 10;
  options.outbox.overflow = OutboxOverflow::drop_new;
  Client client("svc", options);
  client.connect(absent.endpoint);
  int queued = 0;
  for (int i = 0; i < 50; ++i) queued += client.notify("record", i) ? 1 : 0;
  EXPECT_EQ(queued, 10);
  EXPECT_EQ(client.stats().notifications_dropped, 40u);

  Recorder recorder;
  absent.come_back_as(recorder);
  ASSERT_TRUE(client.wait_notifications_delivered(10s));
  EXPECT_EQ(recorder.seen(), range(0, 10));
}

TEST(Notifications, FailRefusesWithOutboxFullErrorAndKeepsWhatWaits) {
  AbsentServer absent;
  PeerOptions options;
  options.outbox.max_messages_per_destination = 5;
  Client client("svc", options);  // overflow: fail, the default
  client.connect(absent.endpoint);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(client.notify("record", i));
  try {
    client.notify("record", 5);
    FAIL() << "no OutboxFullError";
  } catch (const OutboxFullError& e) {
    EXPECT_NE(std::string(e.what()).find("outbox is full"), std::string::npos) << e.what();
  }
  EXPECT_EQ(client.stats().notifications_dropped, 0u);

  Recorder recorder;
  absent.come_back_as(recorder);
  ASSERT_TRUE(client.wait_notifications_delivered(10s));
  EXPECT_EQ(recorder.seen(), range(0, 5));
}

TEST(Notifications, ThoseThatOutliveTheirTimeToLiveAreNeverHandled) {
  AbsentServer absent;
  PeerOptions options;
  options.outbox.ttl = 1000ms;
  Client client("svc", options);
  client.connect(absent.endpoint);
  const auto put = Clock::now();
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(client.notify("record", i));
  ASSERT_TRUE(eventually([&] { return client.stats().notifications_expired == 10; }, 5s));
  const double expired_after = ms_between(put, Clock::now());
  EXPECT_GE(expired_after, 1000.0);
  EXPECT_EQ(client.stats().outbox_messages, 0u);

  Recorder recorder;
  absent.come_back_as(recorder);
  ASSERT_TRUE(client.notify("record", 99));  // a fresh one still goes, alone
  ASSERT_TRUE(client.wait_notifications_delivered(10s));
  EXPECT_EQ(recorder.seen(), std::vector<int>{99});
  std::cout << "[figure] ttl 1000 ms: 10 expired after " << expired_after << " ms, none handled\n";
}

TEST(Notifications, AnErrorReplyCountsAsFailed) {
  Recorder recorder;
  const std::string endpoint = recorder.bind_any();
  Client client("svc");
  client.connect(endpoint);
  ASSERT_TRUE(client.notify("no_such_function", 1));
  ASSERT_TRUE(client.notify("record", 1));
  ASSERT_TRUE(client.wait_notifications_delivered(5s));
  const PeerStats stats = client.stats();
  EXPECT_EQ(stats.notifications_sent, 2u);
  EXPECT_EQ(stats.notifications_failed, 1u);
  EXPECT_EQ(recorder.seen(), std::vector<int>{1});
}

TEST(Notifications, AServerNotifiesAConnectedClient) {
  Server server("svc");
  const std::string endpoint = server.bind("tcp://127.0.0.1:*");
  PeerOptions options;
  options.routing_id = "client-1";
  Client client("svc", options);
  std::mutex mutex;
  std::vector<std::string> got;
  client.register_rpc("event", [&](std::string text) {
    const std::lock_guard lock(mutex);
    got.push_back(text);
  });
  client.connect(endpoint);
  ASSERT_EQ(client.call<std::string>(std::string(health_function)), health_serving);  // the client has joined
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(server.send_to("client-1").notify("event", "n" + std::to_string(i)));
  ASSERT_TRUE(server.wait_notifications_delivered(5s));
  const std::lock_guard lock(mutex);
  EXPECT_EQ(got, (std::vector<std::string>{"n0", "n1", "n2"}));
}

TEST(Notifications, WithAuthenticationTheyWaitForTheUserToLogIn) {
  PeerOptions server_options;
  server_options.auth = {"plain", {{"user", "alice=s3cret!"}, {"hash_cost", "minimal"}, {"encrypted_link", "true"}}};
  Server server("svc", server_options);
  server.register_rpc("ping", [] { return 1; });
  const std::string endpoint = server.bind("tcp://127.0.0.1:*");
  // Queued for a user nobody is logged in as: nothing is sent to a bare routing id.
  ASSERT_TRUE(server.send_to("alice").notify("event", std::string("for alice")));
  EXPECT_FALSE(server.wait_notifications_sent(100ms));

  PeerOptions client_options;
  client_options.auth = {"plain", {{"login", "alice"}, {"password", "s3cret!"}, {"encrypted_link", "true"}}};
  Client client("svc", client_options);
  std::mutex mutex;
  std::vector<std::string> got;
  client.register_rpc("event", [&](std::string text) {
    const std::lock_guard lock(mutex);
    got.push_back(text);
  });
  client.connect(endpoint);
  ASSERT_EQ(client.call<int>("ping"), 1);  // logs in
  ASSERT_TRUE(server.wait_notifications_delivered(5s));
  const std::lock_guard lock(mutex);
  EXPECT_EQ(got, std::vector<std::string>{"for alice"});
}

TEST(Notifications, StopDropsWhatWaitsAndCountsItAsAbandoned) {
  AbsentServer absent;
  Client client("svc");
  client.connect(absent.endpoint);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(client.notify("record", i));
  EXPECT_FALSE(client.wait_notifications_delivered(50ms));
  client.stop();
  EXPECT_EQ(client.stats().notifications_abandoned, 10u);
  EXPECT_EQ(client.stats().outbox_messages, 0u);
  EXPECT_THROW(client.notify("record", 11), PeerStoppedError);
}

TEST(Notifications, AGracefulStopSendsWhatWaitsFirst) {
  Recorder recorder;
  const std::string endpoint = recorder.bind_any();
  Client client("svc");
  client.connect(endpoint);
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(client.notify("record", i));
  client.stop(5s);
  EXPECT_EQ(recorder.seen(), range(0, 100));
  EXPECT_EQ(client.stats().notifications_abandoned, 0u);
}

TEST(Notifications, RefusesWhatACallWouldRefuseWithNothingQueued) {
  PeerOptions options;
  options.max_message_size = 1024;
  Client client("svc", options);
  EXPECT_THROW(client.notify("record", std::string(2000, 'x')), MessageTooLargeError);
  EXPECT_THROW(client.notify("record", std::string("\xff\xfe")), UsageError);  // not UTF-8: a Python peer would choke
  EXPECT_EQ(client.stats().outbox_messages, 0u);
}

}  // namespace
}  // namespace pseud::test
