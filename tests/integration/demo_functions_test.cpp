// The pseud tool's handler-form demos, in process: what a caller of
// deferred_echo, ack_only, nack_me, drop_channel, declared_error and
// undeclared_error sees.

#include <future>

#include <gtest/gtest.h>

#include "cli/demo_functions.hpp"
#include "cli/demo_timer.hpp"
#include "pseud/pseud.hpp"
#include "test_support.hpp"

namespace pseud::test {
namespace {

using Clock = std::chrono::steady_clock;

struct Fixture {
  Fixture() {
    cli::register_demo_functions(server);
    client.connect(server.bind("tcp://127.0.0.1:*"));
  }
  Server server{"server"};
  Client client{"server"};
};

const CallOptions within{.timeout = bound};

// The RemoteError a call raises, or a failure.
RemoteError error_of(Client& client, const std::string& function, const std::string& argument) {
  try {
    client.call(function, argument, within);
  } catch (const RemoteError& e) {
    return e;
  }
  ADD_FAILURE() << function << " did not fail";
  return RemoteError("none", "");
}

TEST(DemoFunctions, DeferredEchoRepliesAfterTheDelay) {
  Fixture f;
  EXPECT_EQ(f.client.call<int>("add", 1, 2, within), 3);  // connected
  const auto start = Clock::now();
  EXPECT_EQ(f.client.call<std::string>("deferred_echo", "later", 200, within), "later");
  EXPECT_GE(Clock::now() - start, 200ms);
  EXPECT_EQ(f.client.call<std::string>("deferred_echo", "now", kw("delay_ms", 0), within), "now");
}

TEST(DemoFunctions, ManyDeferredEchoesShareOneTimer) {
  Fixture f;
  std::vector<std::future<int>> replies;
  for (int i = 0; i < 50; ++i) replies.push_back(f.client.async_call<int>("deferred_echo", i, 100 - 2 * i, within));
  for (int i = 0; i < 50; ++i) EXPECT_EQ(get_within(replies[i]), i);
}

TEST(DemoFunctions, DeferredEchoRefusesDelaysOutOfBounds) {
  Fixture f;
  for (const char* delay : {"-1", "60001"}) {
    try {
      f.client.call("deferred_echo", "x", std::stoll(delay), within);
      ADD_FAILURE() << delay;
    } catch (const RemoteError& e) {
      EXPECT_EQ(e.name(), "ValueError");
      EXPECT_EQ(e.message(), "deferred_echo: delay_ms must be 0..60000");
    }
  }
}

TEST(DemoFunctions, AFullTimerRefusesWithOverloadedError) {
  Server server{"server"};
  auto timer = std::make_shared<cli::DeferredReplies>(1);
  server.register_rpc("defer", [timer](ReplyChannel channel, const msgpack::object& value) {
    timer->schedule(std::move(channel), value, 60s);
  });
  Client client{"server"};
  client.connect(server.bind("tcp://127.0.0.1:*"));
  // One connection, handled in order: the first call holds the only place when the second comes.
  auto held = client.async_call<int>("defer", 1, within);
  try {
    client.call("defer", 2, within);
    ADD_FAILURE() << "the second call was not refused";
  } catch (const OverloadedError& e) {
    EXPECT_NE(e.message().find("deferred_echo: 1 replies"), std::string::npos) << e.message();
  }
  EXPECT_EQ(held.wait_for(0s), std::future_status::timeout);
}

TEST(DemoFunctions, ChannelAnswersAckNackAndDrop) {
  Fixture f;
  EXPECT_TRUE(f.client.call<msgpack::object_handle>("ack_only", within).get().is_nil());
  EXPECT_THROW(f.client.call("nack_me", within), Nack);
  const auto start = Clock::now();
  EXPECT_THROW(f.client.call("drop_channel", within), Nack);
  EXPECT_LT(Clock::now() - start, 2s);  // at once, not at the timeout
}

TEST(DemoFunctions, DeclaredErrorsGoOutAndUndeclaredOnesAsABareNack) {
  Fixture f;
  const RemoteError declared = error_of(f.client, "declared_error", "bad input");
  EXPECT_EQ(declared.name(), "ValueError");
  EXPECT_EQ(declared.message(), "bad input");
  const RemoteError undeclared = error_of(f.client, "undeclared_error", "the secret");
  EXPECT_EQ(undeclared.name(), "Nack");
  EXPECT_EQ(undeclared.message(), "");
  EXPECT_EQ(undeclared.traceback(), "");
}

TEST(DemoFunctions, RelayAddAwaitsAnotherServersAdd) {
  Fixture relay;
  Server other("other");
  other.register_rpc("add", [](std::int64_t a, std::int64_t b) { return a + b + 1000; });  // tells them apart
  const std::string other_endpoint = other.bind("tcp://127.0.0.1:*");
  EXPECT_EQ(relay.client.call<std::int64_t>("relay_add", other_endpoint, 2, 3, kw("server_name", "other"), within),
            1005);
  // Several at once, through the one client the relay keeps for that endpoint.
  std::vector<std::future<std::int64_t>> sums;
  for (int i = 0; i < 20; ++i) {
    sums.push_back(relay.client.async_call<std::int64_t>("relay_add", other_endpoint, i, i, kw("server_name", "other"),
                                                         within));
  }
  for (int i = 0; i < 20; ++i) EXPECT_EQ(get_within(sums[i]), 2 * i + 1000);
  try {
    relay.client.call("relay_add", "http://example.org", 1, 2, within);
    ADD_FAILURE() << "a non-ZMQ endpoint was not refused";
  } catch (const RemoteError& e) {
    EXPECT_NE(e.message().find("tcp://HOST:PORT"), std::string::npos) << e.message();
  }
}

}  // namespace
}  // namespace pseud::test
