// Calls between two real peers: every call form, timeouts, cancellation,
// unreachable peers, stop(), and the worker pool. Runs over inproc and tcp.

#include <atomic>
#include <coroutine>
#include <stop_token>

#include <gtest/gtest.h>

#include "pseud/pseud.hpp"
#include "refusing_port.hpp"
#include "test_support.hpp"

namespace pseud::test {
namespace {

// A minimal eager coroutine type, enough to drive co_call in tests.
struct Task {
  struct promise_type {
    Task get_return_object() { return {}; }
    std::suspend_never initial_suspend() noexcept { return {}; }
    std::suspend_never final_suspend() noexcept { return {}; }
    void return_void() {}
    void unhandled_exception() { std::terminate(); }
  };
};

// Coroutines are free functions: a coroutine lambda's captures die with the
// closure temporary while the coroutine is still suspended.
Task add_twice(Client& client, std::promise<int>& got) {
  const int a = co_await client.co_call<int>("add", 1, 1);
  const int b = co_await client.co_call<int>("add", a, 40);
  got.set_value(b);
}

Task call_missing(Client& client, std::promise<std::string>& got) {
  try {
    co_await client.co_call<int>("missing");
    got.set_value("no error");
  } catch (const ServiceNotFoundError& e) {
    got.set_value(e.message());
  }
}

std::atomic<int> endpoint_counter{0};

class Calls : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    server_.register_rpc("add", [](int a, int b) { return a + b; });
    const std::string endpoint = GetParam() == "tcp" ? "tcp://127.0.0.1:*"
                                                      : "inproc://calls-" + std::to_string(endpoint_counter++);
    address_ = server_.bind(endpoint);
    client_.connect(address_);
  }

  Server server_{"server"};
  Client client_{"server"};
  std::string address_;
};

INSTANTIATE_TEST_SUITE_P(Transports, Calls, ::testing::Values("inproc", "tcp"));

TEST_P(Calls, BlockingCallReturnsTypedResult) { EXPECT_EQ(client_.call<int>("add", 1, 2), 3); }

TEST_P(Calls, FutureForm) {
  auto future = client_.async_call<int>("add", 20, 22);
  EXPECT_EQ(get_within(future), 42);
}

TEST_P(Calls, CallbackFormRunsOnce) {
  std::promise<int> got;
  std::atomic<int> calls{0};
  client_.async_call<int>(
      [&](Result<int> result) {
        ++calls;
        got.set_value(result.get());
      },
      "add", 2, 3);
  auto future = got.get_future();
  EXPECT_EQ(get_within(future), 5);
  EXPECT_EQ(calls.load(), 1);
}

TEST_P(Calls, ThrowingCallbackDoesNotHurtTheEngine) {
  std::promise<void> ran;
  client_.async_call<int>(
      [&](Result<int>) {
        ran.set_value();
        throw std::runtime_error("user bug");
      },
      "add", 1, 2);
  auto future = ran.get_future();
  get_within(future);
  EXPECT_EQ(client_.call<int>("add", 2, 2), 4);
}

TEST_P(Calls, AwaitableForm) {
  std::promise<int> got;
  add_twice(client_, got);
  auto future = got.get_future();
  EXPECT_EQ(get_within(future), 42);
}

TEST_P(Calls, AwaitableFormPropagatesErrors) {
  std::promise<std::string> got;
  call_missing(client_, got);
  auto future = got.get_future();
  EXPECT_EQ(get_within(future), "missing");
}

TEST_P(Calls, UnknownFunctionIsServiceNotFound) {
  try {
    client_.call<int>("nope.nothing");
    FAIL() << "expected ServiceNotFoundError";
  } catch (const ServiceNotFoundError& e) {
    EXPECT_EQ(e.name(), "ServiceNotFoundError");
    EXPECT_EQ(e.message(), "nope.nothing");
    EXPECT_TRUE(e.traceback().empty());
  }
}

TEST_P(Calls, ResultThatDoesNotConvertIsConversionError) {
  EXPECT_THROW(client_.call<std::string>("add", 1, 2), ConversionError);
}

TEST_P(Calls, RawResultKeepsTheMsgpackValue) {
  msgpack::object_handle result = client_.call("add", 1, 2);
  EXPECT_EQ(result.get().as<int>(), 3);
}

TEST_P(Calls, TimeoutFiresAndLateReplyIsDroppedAndCounted) {
  std::promise<void> release;
  auto released = release.get_future().share();
  server_.register_rpc("wait", [released] { released.wait_for(5s); return 1; }, {.blocking = true});
  const auto start = std::chrono::steady_clock::now();
  EXPECT_THROW(client_.call<int>("wait", CallOptions{.timeout = 150ms}), TimeoutError);
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_GE(took, 150ms);
  EXPECT_LT(took, 1000ms);
  release.set_value();
  ASSERT_TRUE(eventually([&] { return client_.stats().dropped_replies == 1; }));
  EXPECT_EQ(client_.stats().pending_calls, 0u);
  EXPECT_EQ(client_.call<int>("add", 1, 1), 2);  // the late reply hurt nothing
}

TEST_P(Calls, DeadlineInThePastTimesOutAtOnce) {
  EXPECT_THROW(client_.call<int>("add", 1, 2, CallOptions{.deadline = std::chrono::steady_clock::now()}),
               TimeoutError);
}

TEST_P(Calls, CancellationFailsTheCallAndDropsTheReply) {
  std::promise<void> release;
  auto released = release.get_future().share();
  server_.register_rpc("wait", [released] { released.wait_for(5s); return 1; }, {.blocking = true});
  std::stop_source stop;
  auto future = client_.async_call<int>("wait", CallOptions{.stop = stop.get_token()});
  ASSERT_TRUE(eventually([&] { return client_.stats().calls_sent == 1; }));
  stop.request_stop();
  EXPECT_THROW(get_within(future), CancelledError);
  release.set_value();
  ASSERT_TRUE(eventually([&] { return client_.stats().dropped_replies == 1; }));
}

TEST_P(Calls, StopFailsCallsInFlightWithinOneSecond) {
  std::promise<void> release;
  auto released = release.get_future().share();
  server_.register_rpc("wait", [released] { released.wait_for(5s); return 1; }, {.blocking = true});
  std::vector<std::future<int>> futures;
  for (int i = 0; i < 10; ++i) futures.push_back(client_.async_call<int>("wait"));
  ASSERT_TRUE(eventually([&] { return client_.stats().calls_sent == 10; }));
  const auto start = std::chrono::steady_clock::now();
  client_.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
  for (auto& f : futures) EXPECT_THROW(get_within(f), PeerStoppedError);
  EXPECT_THROW(client_.call<int>("add", 1, 2), PeerStoppedError);
  release.set_value();
}

TEST_P(Calls, BlockingHandlerDoesNotDelayOtherCalls) {
  server_.register_rpc("sleep", [](double seconds) {
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));  // the slow work under test
    return seconds;
  }, {.blocking = true});
  auto slow = client_.async_call<double>("sleep", 2.0);
  ASSERT_TRUE(eventually([&] { return client_.stats().calls_sent == 1; }));
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(client_.call<int>("add", 2, 2), 4);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 500ms);
  EXPECT_EQ(get_within(slow), 2.0);
}

TEST_P(Calls, BlockingCallFromTheEngineThreadIsRefused) {
  server_.register_rpc("nested", [this]() -> std::string {
    try {
      server_.send_to("anyone").call<int>("add", 1, 2);
      return "no error";
    } catch (const UsageError&) {
      return "usage error";
    }
  });
  EXPECT_EQ(client_.call<std::string>("nested"), "usage error");
}

TEST_P(Calls, ManyConcurrentCallsFromManyThreads) {
  constexpr int threads = 8;
  constexpr int per_thread = 200;
  std::vector<std::thread> workers;
  std::atomic<int> correct{0};
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        if (client_.call<int>("add", t, i) == t + i) ++correct;
      }
    });
  }
  for (auto& w : workers) w.join();
  EXPECT_EQ(correct.load(), threads * per_thread);
  EXPECT_EQ(client_.stats().pending_calls, 0u);
}

TEST(Unreachable, ServerCallToUnknownPeerFailsAtOnce) {
  Server server("server");
  server.bind("tcp://127.0.0.1:*");
  const auto start = std::chrono::steady_clock::now();
  EXPECT_THROW(server.send_to("nobody").call<int>("add", 1, 2), PeerUnreachableError);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 100ms);
}

TEST(Unreachable, ClientWhoseServerRefusesConnectionsWaitsWithinItsTimeoutNamingWhy) {
  const test::RefusingPort refusing;  // nothing listens there
  const std::string& endpoint = refusing.endpoint();
  Client client("server");
  client.connect(endpoint);
  try {
    client.call<int>("add", 1, 2, CallOptions{.timeout = 300ms});
    ADD_FAILURE() << "no error";
  } catch (const TimeoutError& e) {
    EXPECT_NE(std::string(e.what()).find("connection refused"), std::string::npos) << e.what();
  }
}

TEST(Unreachable, FailFastClientWhoseServerRefusesConnectionsFailsBeforeItsTimeout) {
  const test::RefusingPort refusing;  // nothing listens there
  const std::string& endpoint = refusing.endpoint();
  Client client("server", PeerOptions{.fail_fast = true});
  client.connect(endpoint);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_THROW(client.call<int>("add", 1, 2, CallOptions{.timeout = 5s}), PeerUnreachableError);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

TEST(Unreachable, WaitForReadyWaitsUntilTheDeadline) {
  const test::RefusingPort refusing;  // nothing listens there
  const std::string& endpoint = refusing.endpoint();
  Client client("server");
  client.connect(endpoint);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_THROW(client.call<int>("add", 1, 2, CallOptions{.timeout = 300ms, .wait_for_ready = true}), TimeoutError);
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_GE(took, 300ms);
  EXPECT_LT(took, 330ms + 200ms);
}

TEST(Unreachable, ClientStartedBeforeServerSucceedsOnceItIsUp) {
  Client client("server");
  client.connect("inproc://started-late");
  auto future = client.async_call<int>("add", 1, 2);
  Server server("server");
  server.register_rpc("add", [](int a, int b) { return a + b; });
  server.bind("inproc://started-late");
  EXPECT_EQ(get_within(future), 3);
}

TEST(Sizes, OversizeCallFailsLocallyAndSendsNothing) {
  Server server("server", {.max_message_size = 1024});
  server.register_rpc("echo", [](std::string s) { return s; });
  Client client("server", {.max_message_size = 1024});
  client.connect(server.bind("tcp://127.0.0.1:*"));
  const auto start = std::chrono::steady_clock::now();
  EXPECT_THROW(client.call<std::string>("echo", std::string(2000, 'x')), MessageTooLargeError);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 50ms);
  EXPECT_EQ(client.stats().calls_sent, 0u);
  EXPECT_EQ(client.call<std::string>("echo", std::string("ok")), "ok");
}

TEST(Lifecycle, EmptyNamesAreRefused) {
  EXPECT_THROW(Server(""), UsageError);
  EXPECT_THROW(Client(""), UsageError);
  EXPECT_THROW(Server(std::string("\0x", 2)), UsageError);
}

TEST(Lifecycle, BindErrorsNameTheEndpoint) {
  Server server("server");
  try {
    server.bind("nonsense://here");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("nonsense://here"), std::string::npos);
  }
}

}  // namespace
}  // namespace pseud::test

namespace pseud::test {
namespace {

TEST(Probe, ConnectingPeersGreetingIsNotAnswered) {
  auto context = std::make_shared<zmq::context_t>();
  Server server("server", {.context = context});
  server.register_rpc("add", [](int a, int b) { return a + b; });
  const std::string endpoint = server.bind("tcp://127.0.0.1:*");
  RawSocket raw(*context, zmq::socket_type::router, "prober");
  raw.socket().set(zmq::sockopt::probe_router, 1);
  raw.socket().connect(endpoint);
  // The server's own probe-free ROUTER sends nothing back to a probe.
  EXPECT_FALSE(raw.receive(300ms).has_value());
  EXPECT_EQ(server.stats().malformed_messages, 0u);
  EXPECT_EQ(server.stats().requests_handled, 0u);
  raw.send({"server", "", "v1", "abc", "\x03", hex_decode("93a361646492010280")});
  auto reply = raw.receive();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(*reply, (Frames{"server", "", "v1", "abc", "\x01", "\x03"}));
}

}  // namespace
}  // namespace pseud::test

namespace pseud::test {
namespace {

TEST(PythonSafety, NonStringMapKeysAreRefusedBeforeSending) {
  Server server("server");
  server.register_rpc("echo", [](const msgpack::object& x) { return x; });
  server.register_rpc("int_keys", [] { return std::map<int, int>{{1, 2}}; });
  Client client("server");
  client.connect(server.bind("tcp://127.0.0.1:*"));
  EXPECT_THROW(client.call("echo", std::map<int, int>{{1, 2}}), UsageError);
  EXPECT_EQ(client.stats().calls_sent, 0u);
  try {
    client.call("int_keys");
    FAIL() << "expected TypeError";
  } catch (const RemoteError& e) {
    EXPECT_EQ(e.name(), "TypeError");
  }
  // Both sides relaxed: the keys travel (Python pseud 1.x accepts them).
  Server relaxed_server("server", {.strict_map_keys = false});
  relaxed_server.register_rpc("echo", [](const msgpack::object& x) { return x; });
  Client relaxed("server", {.strict_map_keys = false});
  relaxed.connect(relaxed_server.bind("tcp://127.0.0.1:*"));
  auto echoed = relaxed.call("echo", std::map<int, int>{{1, 2}});
  EXPECT_EQ((echoed.get().as<std::map<int, int>>()), (std::map<int, int>{{1, 2}}));
}

TEST(PythonSafety, RepliesPastTheDeadlineAreDroppedNotSent) {
  Server server("server", {.reply_deadline = 100ms});
  std::promise<void> release;
  auto released = release.get_future().share();
  server.register_rpc("slow", [released] { released.wait_for(5s); return 1; }, {.blocking = true});
  server.register_rpc("fast", [] { return 2; });
  Client client("server");
  client.connect(server.bind("tcp://127.0.0.1:*"));
  auto slow = client.async_call<int>("slow", CallOptions{.timeout = 2s});
  ASSERT_TRUE(eventually([&] { return client.stats().calls_sent == 1; }));
  std::this_thread::sleep_for(200ms);  // the handler outlives the deadline: the thing under test
  release.set_value();
  EXPECT_THROW(get_within(slow), TimeoutError);
  EXPECT_EQ(server.stats().expired_replies, 1u);
  EXPECT_EQ(client.stats().dropped_replies, 0u);
  EXPECT_EQ(client.call<int>("fast"), 2);
}

}  // namespace
}  // namespace pseud::test
