// Interceptors (PeerOptions::interceptors) see every call both ways, with how
// it ended: answered, failed, refused unrun, timed out, cancelled, abandoned;
// and refuse calls before they run or leave.

#include <atomic>
#include <mutex>
#include <stop_token>
#include <thread>

#include <gtest/gtest.h>

#include "pseud/pseud.hpp"
#include "test_support.hpp"

namespace pseud::test {
namespace {

using Clock = std::chrono::steady_clock;

struct Seen {
  std::string hook;  // "before" or "after"
  CallDirection direction;
  std::string function, peer, user;
  bool has_deadline = false;
  CallOutcome outcome = CallOutcome::ok;
  std::string error_name;
  std::chrono::nanoseconds duration{};
};

// Records every hook; refuses the functions named in `refuse` with `refusal`.
class Recorder final : public Interceptor {
 public:
  void before(const CallInfo& call) override {
    add({"before", call.direction, std::string(call.function), std::string(call.peer), std::string(call.user_id),
         call.deadline.has_value(), CallOutcome::ok, {}, {}});
    if (call.function == refuse) std::rethrow_exception(refusal);
  }
  void after(const CallInfo& call, const CallEnd& end) noexcept override {
    add({"after", call.direction, std::string(call.function), std::string(call.peer), std::string(call.user_id),
         call.deadline.has_value(), end.outcome, std::string(end.error_name), end.duration});
  }
  std::vector<Seen> seen(std::string_view function) const {
    std::lock_guard lock(mutex_);
    std::vector<Seen> out;
    for (const Seen& s : seen_) {
      if (s.function == function) out.push_back(s);
    }
    return out;
  }
  // The after() of `function`, once there is one.
  std::optional<Seen> ended(std::string_view function) const {
    std::optional<Seen> found;
    eventually([&] {
      for (const Seen& s : seen(function)) {
        if (s.hook == "after") found = s;
      }
      return found.has_value();
    });
    return found;
  }

  std::string refuse;
  std::exception_ptr refusal;

 private:
  void add(Seen s) {
    std::lock_guard lock(mutex_);
    seen_.push_back(std::move(s));
  }
  mutable std::mutex mutex_;
  std::vector<Seen> seen_;
};

struct Fixture {
  explicit Fixture(std::size_t workers = 4) {
    server_options.interceptors = {server_hooks};
    server_options.worker_threads = workers;
    client_options.interceptors = {client_hooks};
    client_options.routing_id = "client-1";
    server = std::make_unique<Server>("server", server_options);
    client = std::make_unique<Client>("server", client_options);
    server->register_rpc("add", [](int a, int b) { return a + b; });
    server->register_rpc("fail", []() -> int { throw std::invalid_argument("no good"); });
    server->register_rpc("slow_add", [](int a, int b) {
      std::this_thread::sleep_for(50ms);
      return a + b;
    }, {.blocking = true});
    client->connect(server->bind("tcp://127.0.0.1:*"));
  }
  std::shared_ptr<Recorder> server_hooks = std::make_shared<Recorder>();
  std::shared_ptr<Recorder> client_hooks = std::make_shared<Recorder>();
  PeerOptions server_options, client_options;
  std::unique_ptr<Server> server;
  std::unique_ptr<Client> client;
};

TEST(Interceptors, SeeACallOnBothSidesWithItsPeerDeadlineAndDuration) {
  Fixture f;
  const auto started = Clock::now();
  EXPECT_EQ(f.client->call<int>("add", 2, 3, CallOptions{.timeout = bound}), 5);
  const auto took = Clock::now() - started;

  const auto server_seen = f.server_hooks->seen("add");
  ASSERT_EQ(server_seen.size(), 2u);
  EXPECT_EQ(server_seen[0].hook, "before");
  EXPECT_EQ(server_seen[0].direction, CallDirection::incoming);
  EXPECT_EQ(server_seen[0].peer, "client-1");
  EXPECT_FALSE(server_seen[0].has_deadline);  // the wire carries none
  EXPECT_EQ(server_seen[1].hook, "after");
  EXPECT_EQ(server_seen[1].outcome, CallOutcome::ok);
  EXPECT_TRUE(server_seen[1].error_name.empty());

  const auto client_seen = f.client_hooks->seen("add");
  ASSERT_EQ(client_seen.size(), 2u);
  EXPECT_EQ(client_seen[0].direction, CallDirection::outgoing);
  EXPECT_EQ(client_seen[0].peer, "server");
  EXPECT_TRUE(client_seen[0].has_deadline);
  EXPECT_EQ(client_seen[1].outcome, CallOutcome::ok);
  // The client's duration covers the server's, and both lie within the call.
  EXPECT_GT(client_seen[1].duration, server_seen[1].duration);
  EXPECT_LE(client_seen[1].duration, took);
}

TEST(Interceptors, SeeErrorsWithTheirClassName) {
  Fixture f;
  EXPECT_THROW(f.client->call<int>("fail", CallOptions{.timeout = bound}), RemoteError);
  const auto server_end = f.server_hooks->ended("fail");
  ASSERT_TRUE(server_end);
  EXPECT_EQ(server_end->outcome, CallOutcome::error);
  EXPECT_EQ(server_end->error_name, "ValueError");
  const auto client_end = f.client_hooks->ended("fail");
  ASSERT_TRUE(client_end);
  EXPECT_EQ(client_end->outcome, CallOutcome::error);
  EXPECT_EQ(client_end->error_name, "ValueError");
}

TEST(Interceptors, SeeAnUnknownFunctionRefusedWithoutABefore) {
  Fixture f;
  EXPECT_THROW(f.client->call<int>("no_such", CallOptions{.timeout = bound}), ServiceNotFoundError);
  ASSERT_TRUE(f.server_hooks->ended("no_such"));
  const auto server_seen = f.server_hooks->seen("no_such");
  ASSERT_EQ(server_seen.size(), 1u);
  EXPECT_EQ(server_seen[0].hook, "after");
  EXPECT_EQ(server_seen[0].outcome, CallOutcome::refused);
  EXPECT_EQ(server_seen[0].error_name, "ServiceNotFoundError");
  const auto client_end = f.client_hooks->ended("no_such");
  ASSERT_TRUE(client_end);
  EXPECT_EQ(client_end->outcome, CallOutcome::refused);
}

TEST(Interceptors, SeeTimeoutsAndCancellations) {
  Fixture f;
  std::mutex mutex;
  std::vector<ReplyChannel> parked;  // answered at the end
  f.server->register_rpc("park", [&](ReplyChannel channel) {
    std::lock_guard lock(mutex);
    parked.push_back(std::move(channel));
  });
  EXPECT_THROW(f.client->call<int>("park", CallOptions{.timeout = 100ms}), TimeoutError);
  auto timed_out = f.client_hooks->ended("park");
  ASSERT_TRUE(timed_out);
  EXPECT_EQ(timed_out->outcome, CallOutcome::timeout);
  EXPECT_EQ(timed_out->error_name, "TimeoutError");
  EXPECT_GE(timed_out->duration, 100ms);

  // Cancelled while the server holds it (it never answers "hang" unasked).
  f.server->register_rpc("hang", [&](ReplyChannel channel) {
    std::lock_guard lock(mutex);
    parked.push_back(std::move(channel));
  });
  std::stop_source stop;
  auto cancelled = f.client->async_call<int>("hang", CallOptions{.timeout = bound, .stop = stop.get_token()});
  ASSERT_TRUE(eventually([&] {
    std::lock_guard lock(mutex);
    return parked.size() == 2;
  }));
  stop.request_stop();
  EXPECT_THROW(get_within(cancelled), CancelledError);
  const auto cancel_end = f.client_hooks->ended("hang");
  ASSERT_TRUE(cancel_end);
  EXPECT_EQ(cancel_end->outcome, CallOutcome::cancelled);

  // The server's side of the parked call ends when its channel answers.
  EXPECT_EQ(f.server_hooks->seen("park").size(), 1u);  // before() only, so far
  {
    std::lock_guard lock(mutex);
    parked.front().ack();
  }
  const auto server_end = f.server_hooks->ended("park");
  ASSERT_TRUE(server_end);
  EXPECT_EQ(server_end->outcome, CallOutcome::ok);
  // Answered after the client's 100 ms ran out; the server's clock started a
  // little after the client's (the request's trip).
  EXPECT_GE(server_end->duration, 90ms);
}

TEST(Interceptors, RefuseAnIncomingCallWithTheirRemoteError) {
  Fixture f;
  std::atomic<int> ran{0};
  f.server->register_rpc("guarded", [&] { ++ran; return 1; });
  f.server_hooks->refuse = "guarded";
  f.server_hooks->refusal = std::make_exception_ptr(RemoteError("PermissionError", "not on Sundays"));
  try {
    f.client->call<int>("guarded", CallOptions{.timeout = bound});
    FAIL() << "expected the interceptor's refusal";
  } catch (const RemoteError& e) {
    EXPECT_EQ(e.name(), "PermissionError");
    EXPECT_EQ(e.message(), "not on Sundays");
  }
  EXPECT_EQ(ran.load(), 0);
  const auto end = f.server_hooks->ended("guarded");
  ASSERT_TRUE(end);
  EXPECT_EQ(end->outcome, CallOutcome::refused);
  EXPECT_EQ(end->error_name, "PermissionError");
}

TEST(Interceptors, AnyOtherRefusalReachesTheCallerAsABareNack) {
  Fixture f;
  f.server_hooks->refuse = "add";
  f.server_hooks->refusal = std::make_exception_ptr(std::runtime_error("internal detail: db password wrong"));
  try {
    f.client->call<int>("add", 1, 2, CallOptions{.timeout = bound});
    FAIL() << "expected a Nack";
  } catch (const Nack& e) {
    EXPECT_EQ(std::string(e.what()).find("db password"), std::string::npos) << e.what();
  }
}

TEST(Interceptors, RefuseAnOutgoingCallBeforeAnythingIsSent) {
  Fixture f;
  f.client_hooks->refuse = "add";
  f.client_hooks->refusal = std::make_exception_ptr(std::logic_error("not from this client"));
  EXPECT_THROW(f.client->call<int>("add", 1, 2, CallOptions{.timeout = bound}), std::logic_error);
  const auto end = f.client_hooks->ended("add");
  ASSERT_TRUE(end);
  EXPECT_EQ(end->outcome, CallOutcome::refused);
  // Nothing reached the server.
  EXPECT_EQ(f.client->call<int>("slow_add", 1, 1, CallOptions{.timeout = bound}), 2);
  EXPECT_TRUE(f.server_hooks->seen("add").empty());
  // Counted once the reply left, which may be after the client read it.
  EXPECT_TRUE(eventually([&] { return f.server->stats().requests_handled == 1u; }));
  EXPECT_EQ(f.server->stats().requests_handled, 1u);
}

TEST(Interceptors, SeeBlockingHandlersEndOnTheirWorker) {
  Fixture f;
  EXPECT_EQ(f.client->call<int>("slow_add", 1, 2, CallOptions{.timeout = bound}), 3);
  const auto end = f.server_hooks->ended("slow_add");
  ASSERT_TRUE(end);
  EXPECT_EQ(end->outcome, CallOutcome::ok);
  EXPECT_GE(end->duration, 50ms);
}

TEST(Interceptors, SeeCallsAbandonedWhenThePeerStops) {
  Fixture f(1);
  std::atomic<bool> release{false};
  f.server->register_rpc("hold", [&] {
    while (!release.load()) std::this_thread::sleep_for(1ms);
    return 1;
  }, {.blocking = true});
  auto first = f.client->async_call<int>("hold", CallOptions{.timeout = bound});
  ASSERT_TRUE(eventually([&] { return f.server->metrics().find("hold") &&
                                      f.server->metrics().find("hold")->in_flight == 1; }));
  // Queued behind the first on the only worker: abandoned when the server stops.
  auto second = f.client->async_call<int>("hold", CallOptions{.timeout = bound});
  ASSERT_TRUE(eventually([&] { return f.server->metrics().find("hold")->in_flight == 2; }));
  std::thread releaser([&] {
    std::this_thread::sleep_for(50ms);  // the work the first call does, not a synchronisation
    release = true;
  });
  f.server->stop();
  releaser.join();
  std::vector<CallOutcome> outcomes;
  ASSERT_TRUE(eventually([&] {
    outcomes.clear();
    for (const Seen& s : f.server_hooks->seen("hold")) {
      if (s.hook == "after") outcomes.push_back(s.outcome);
    }
    return outcomes.size() == 2;
  }));
  EXPECT_NE(std::find(outcomes.begin(), outcomes.end(), CallOutcome::abandoned), outcomes.end());
}

TEST(Interceptors, SeeNotificationsSettle) {
  Fixture f;
  ASSERT_TRUE(f.client->notify("add", 1, 2));
  ASSERT_TRUE(f.client->wait_notifications_delivered(bound));
  const auto end = f.client_hooks->ended("add");
  ASSERT_TRUE(end);
  EXPECT_EQ(end->outcome, CallOutcome::ok);
  EXPECT_FALSE(end->has_deadline);
  f.client_hooks->refuse = "fail";
  f.client_hooks->refusal = std::make_exception_ptr(std::logic_error("no"));
  EXPECT_THROW(f.client->notify("fail"), std::logic_error);
}

TEST(Interceptors, AThrowingAfterIsContained) {
  struct Thrower final : Interceptor {
    void after(const CallInfo&, const CallEnd&) noexcept override {}
  };
  // after() is noexcept by contract; before() may throw anything and the
  // engine survives it: a server whose interceptor throws for every call
  // still answers the next caller.
  struct AlwaysThrows final : Interceptor {
    void before(const CallInfo&) override { throw 42; }
  };
  PeerOptions options;
  options.interceptors = {std::make_shared<Thrower>(), std::make_shared<AlwaysThrows>()};
  Server server("server", options);
  server.register_rpc("add", [](int a, int b) { return a + b; });
  Client client("server");
  client.connect(server.bind("tcp://127.0.0.1:*"));
  for (int i = 0; i < 3; ++i) EXPECT_THROW(client.call<int>("add", 1, 2, CallOptions{.timeout = bound}), Nack);
}

}  // namespace
}  // namespace pseud::test
