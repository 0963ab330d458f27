// Handlers that are coroutines (return pseud::Task<T>): they await calls to
// other peers, or to their own caller, hold no thread while they wait, and
// answer with their value or their exception as any handler does. Blocking
// waits on any engine thread are refused.

#include <atomic>
#include <future>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "pseud/pseud.hpp"
#include "test_support.hpp"

namespace pseud::test {
namespace {

using Clock = std::chrono::steady_clock;

// A backend server with `add`, a front server whose handlers relay to it
// through a client of their own, and a client of the front.
struct Relay {
  explicit Relay(PeerOptions front_options = {}, PeerOptions backend_options = {})
      : backend("backend", backend_options), front("front", front_options) {
    backend.register_rpc("add", [](int a, int b) { return a + b; });
    to_backend.connect(backend.bind("tcp://127.0.0.1:*"));
    front.register_rpc("relay_add", [this](int a, int b) -> Task<int> {
      co_return co_await to_backend.co_call<int>("add", a, b);
    });
  }
  void start() { caller.connect(front.bind("tcp://127.0.0.1:*")); }

  Server backend;
  Client to_backend{"backend"};
  Server front;
  Client caller{"front", PeerOptions{.routing_id = "caller"}};
};

TEST(CoroutineHandlers, AHandlerAwaitsACallToAnotherServer) {
  Relay relay;
  relay.start();
  EXPECT_EQ(relay.caller.call<int>("relay_add", 2, 3), 5);
  EXPECT_EQ(relay.caller.call<int>("relay_add", 40, 2), 42);
  EXPECT_EQ(relay.front.stats().open_reply_channels, 0u);
}

TEST(CoroutineHandlers, AHandlerAwaitsACallBackToItsOwnCaller) {
  Relay relay;
  relay.caller.register_rpc("whoami", []() { return std::string("the caller"); });
  relay.front.register_rpc("ask_back", [&relay](Caller caller) -> Task<std::string> {
    const auto answer = co_await relay.front.send_to(caller.routing_id).co_call<std::string>("whoami");
    co_return "you are " + answer;
  });
  relay.start();
  EXPECT_EQ(relay.caller.call<std::string>("ask_back"), "you are the caller");
}

TEST(CoroutineHandlers, VoidAndChainedTasksAnswer) {
  Relay relay;
  std::atomic<int> ran{0};
  relay.front.register_rpc("touch", [&ran]() -> Task<void> {
    ++ran;
    co_return;
  });
  relay.front.register_rpc("sum3", [&relay](int a, int b, int c) -> Task<int> {
    auto add = [&relay](int x, int y) -> Task<int> { co_return co_await relay.to_backend.co_call<int>("add", x, y); };
    co_return co_await add(co_await add(a, b), c);
  });
  relay.start();
  relay.caller.call<void>("touch");
  EXPECT_EQ(ran.load(), 1);
  EXPECT_EQ(relay.caller.call<int>("sum3", 1, 2, 3), 6);
}

TEST(CoroutineHandlers, ExceptionsAnswerAsTheFunctionDeclares) {
  std::mutex mutex;
  std::vector<std::string> reported;
  PeerOptions options;
  options.on_handler_error = [&](const std::string& function, const Caller&, std::exception_ptr) {
    std::lock_guard lock(mutex);
    reported.push_back(function);
  };
  Relay relay(options);
  const auto throws = [&relay](int kind) -> Task<int> {
    const int sum = co_await relay.to_backend.co_call<int>("add", kind, 0);  // after a wait, on another thread
    if (sum == 1) throw std::invalid_argument("declared: bad value");
    throw std::runtime_error("secret detail");
  };
  relay.front.register_rpc("declares", throws, {.raises = {raises<std::invalid_argument>("ValueError")}});
  relay.front.register_rpc("plain", throws);
  relay.start();
  try {
    relay.caller.call<int>("declares", 1);
    ADD_FAILURE() << "no exception";
  } catch (const RemoteError& e) {
    EXPECT_EQ(e.name(), "ValueError");
    EXPECT_NE(std::string(e.what()).find("declared: bad value"), std::string::npos);
  }
  EXPECT_THROW(relay.caller.call<int>("declares", 2), Nack);
  try {
    relay.caller.call<int>("plain", 2);
    ADD_FAILURE() << "no exception";
  } catch (const RemoteError& e) {
    EXPECT_NE(std::string(e.what()).find("secret detail"), std::string::npos) << "no declaration: as before";
  }
  std::lock_guard lock(mutex);
  EXPECT_EQ(reported, (std::vector<std::string>{"declares", "plain"}));
}

TEST(CoroutineHandlers, AThousandWaitingHandlersHoldNoThread) {
  constexpr int handlers = 1000;
  // One worker thread on the front: a blocking canary answered while the
  // thousand wait proves none of them holds it.
  Relay relay(PeerOptions{.max_requests_per_peer = 2000, .worker_threads = 1},
              PeerOptions{.max_requests_per_peer = 2000});
  std::mutex mutex;
  std::vector<ReplyChannel> held;
  relay.backend.register_rpc("held_add", [&](ReplyChannel channel, int a, int b) {
    (void)a, (void)b;
    std::lock_guard lock(mutex);
    held.push_back(std::move(channel));
  });
  relay.front.register_rpc("relay_held", [&relay](int a, int b) -> Task<int> {
    const int ignored = co_await relay.to_backend.co_call<int>("held_add", a, b);
    (void)ignored;
    co_return a + b;
  });
  relay.front.register_rpc("canary", []() { return std::string("alive"); }, {.blocking = true});
  relay.start();
  const auto start = Clock::now();
  std::vector<std::future<int>> answers;
  answers.reserve(handlers);
  for (int i = 0; i < handlers; ++i) answers.push_back(relay.caller.async_call<int>("relay_held", i, 1));
  ASSERT_TRUE(eventually([&] { return relay.backend.stats().open_reply_channels == handlers; }, 30s))
      << relay.backend.stats().open_reply_channels << " of " << handlers << " reached the backend";
  const auto all_waiting = Clock::now() - start;
  EXPECT_EQ(relay.front.stats().open_reply_channels, static_cast<std::uint64_t>(handlers));
  EXPECT_EQ(relay.caller.call<std::string>("canary"), "alive");
  {
    std::lock_guard lock(mutex);
    for (ReplyChannel& channel : held) channel.reply(0);
    held.clear();
  }
  for (int i = 0; i < handlers; ++i) {
    ASSERT_EQ(answers[i].wait_for(30s), std::future_status::ready) << "answer " << i;
    EXPECT_EQ(answers[i].get(), i + 1);
  }
  const auto total = Clock::now() - start;
  EXPECT_TRUE(eventually([&] { return relay.front.stats().open_reply_channels == 0; }));
  std::printf("[figure] %d coroutine handlers waiting at once after %.0f ms, all answered after %.0f ms, "
              "on 1 worker thread that stayed free\n",
              handlers, std::chrono::duration<double, std::milli>(all_waiting).count(),
              std::chrono::duration<double, std::milli>(total).count());
}

TEST(CoroutineHandlers, ACallerOverItsBudgetIsRefusedBeforeTheCoroutineRuns) {
  Relay relay(PeerOptions{.max_requests_per_peer = 2});
  std::atomic<int> started{0};
  std::mutex mutex;
  std::vector<ReplyChannel> held;
  relay.backend.register_rpc("held", [&](ReplyChannel channel) {
    std::lock_guard lock(mutex);
    held.push_back(std::move(channel));
  });
  relay.front.register_rpc("wait", [&]() -> Task<int> {
    ++started;
    co_await relay.to_backend.co_call<void>("held");
    co_return 1;
  });
  relay.start();
  auto first = relay.caller.async_call<int>("wait");
  auto second = relay.caller.async_call<int>("wait");
  ASSERT_TRUE(eventually([&] { return relay.backend.stats().open_reply_channels == 2; }));
  EXPECT_THROW(relay.caller.call<int>("wait"), OverloadedError);
  EXPECT_EQ(started.load(), 2);
  {
    std::lock_guard lock(mutex);
    for (ReplyChannel& channel : held) channel.ack();
    held.clear();
  }
  EXPECT_EQ(first.get(), 1);
  EXPECT_EQ(second.get(), 1);
}

TEST(CoroutineHandlers, BlockingWaitsOnAnyEngineThreadAreRefused) {
  Relay relay;
  relay.front.register_rpc("blocking_call", [&relay]() -> std::string {
    try {
      relay.to_backend.call<int>("add", 1, 2);  // another peer: its engine is not this one
      return "not refused";
    } catch (const UsageError& e) {
      return e.what();
    }
  });
  relay.front.register_rpc("sync_wait_here", [&relay]() -> std::string {
    try {
      return std::to_string(sync_wait(relay.to_backend.co_call<int>("add", 1, 2)));
    } catch (const UsageError& e) {
      return e.what();
    }
  });
  relay.front.register_rpc("after_co_call", [&relay]() -> Task<std::string> {
    co_await relay.to_backend.co_call<int>("add", 1, 2);  // now on to_backend's engine thread
    try {
      relay.caller.call<std::string>("anything");
      co_return "not refused";
    } catch (const UsageError& e) {
      co_return e.what();
    }
  });
  relay.start();
  for (const char* function : {"blocking_call", "sync_wait_here", "after_co_call"}) {
    const auto message = relay.caller.call<std::string>(function);
    EXPECT_NE(message.find("engine thread"), std::string::npos) << function << ": " << message;
  }
  // Blocking handlers run on worker threads, where waiting is fine.
  relay.front.register_rpc("blocking_ok", [&relay]() { return relay.to_backend.call<int>("add", 1, 2); },
                           {.blocking = true});
  EXPECT_EQ(relay.caller.call<int>("blocking_ok"), 3);
}

TEST(CoroutineHandlers, AServerStoppedWhileItsHandlersWaitEndsCleanly) {
  auto relay = std::make_unique<Relay>();
  std::mutex mutex;
  std::vector<ReplyChannel> held;
  relay->backend.register_rpc("held", [&](ReplyChannel channel) {
    std::lock_guard lock(mutex);
    held.push_back(std::move(channel));
  });
  relay->front.register_rpc("wait", [r = relay.get()]() -> Task<int> {
    co_await r->to_backend.co_call<void>("held");
    co_return 1;
  });
  relay->start();
  auto pending = relay->caller.async_call<int>("wait", CallOptions{.timeout = 1s});
  ASSERT_TRUE(eventually([&] { return relay->backend.stats().open_reply_channels == 1; }));
  relay->front.stop();
  relay->to_backend.stop();  // the waiting coroutine resumes with PeerStoppedError and ends
  EXPECT_EQ(pending.wait_for(15s), std::future_status::ready);
  EXPECT_THROW(pending.get(), Error);
  {
    std::lock_guard lock(mutex);
    held.clear();
  }
  relay.reset();  // the sanitizer builds check nothing leaked or dangled
}

}  // namespace
}  // namespace pseud::test
