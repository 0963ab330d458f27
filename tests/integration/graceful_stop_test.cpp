// Peer::stop(grace): health turns NOT_SERVING, new requests are refused fast
// with UnavailableError (health and inspect still answer), the on_stopping
// hooks run while the socket is still open, the requests already accepted
// (on workers, behind reply channels, in coroutines) get their replies, and
// then the peer stops; past the grace it stops anyway and counts what it
// abandoned.

#include <condition_variable>
#include <cstdio>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "pseud/pseud.hpp"
#include "test_support.hpp"

namespace pseud::test {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int slowdown = sanitizer_slowdown;  // the grace and the latency bounds scale with it
constexpr auto grace = 2s * slowdown;
constexpr double refusal_bound_ms = 50.0 * slowdown;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// Where handlers wait until the test lets them finish; every wait bounded.
class Gate {
 public:
  void arrive() {
    std::lock_guard lock(mutex_);
    ++arrived_;
    changed_.notify_all();
  }
  bool wait_arrived(int count, std::chrono::milliseconds limit = 5000ms) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, limit, [&] { return arrived_ >= count; });
  }
  bool wait_open(std::chrono::milliseconds limit = 10000ms) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, limit, [&] { return open_; });
  }
  void open() {
    std::lock_guard lock(mutex_);
    open_ = true;
    changed_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  int arrived_ = 0;
  bool open_ = false;
};

// Threads that answer reply channels later; joined by the destructor.
class Later {
 public:
  ~Later() {
    for (auto& thread : threads_) thread.join();
  }
  template <class Job>
  void run(Job&& job) {
    std::lock_guard lock(mutex_);
    threads_.emplace_back(std::forward<Job>(job));
  }

 private:
  std::mutex mutex_;
  std::vector<std::thread> threads_;
};

constexpr auto work_time = 200ms;  // what each accepted request takes once released

// A server with slow functions of three kinds: blocking (a worker), answered
// through a ReplyChannel from another thread, and a coroutine awaiting a slow
// backend. All wait at the gate, then work 200 ms.
struct Slow {
  Slow() {
    backend.register_rpc(
        "slow_double",
        [this](int i) {
          gate.wait_open();
          std::this_thread::sleep_for(work_time);  // the work itself
          return 2 * i;
        },
        {.blocking = true});
    to_backend.connect(backend.bind("tcp://127.0.0.1:*"));
    server.register_rpc(
        "blocking_work",
        [this](int i) {
          gate.arrive();
          gate.wait_open();
          std::this_thread::sleep_for(work_time);
          return 2 * i;
        },
        {.blocking = true});
    server.register_rpc("channel_work", [this](ReplyChannel channel, int i) {
      gate.arrive();
      later.run([this, channel = std::move(channel), i]() mutable {
        gate.wait_open();
        std::this_thread::sleep_for(work_time);
        channel.reply(2 * i);
      });
    });
    server.register_rpc("coroutine_work", [this](int i) -> Task<int> {
      gate.arrive();
      co_return co_await to_backend.co_call<int>("slow_double", i, CallOptions{.timeout = 10s});
    });
    endpoint = server.bind("tcp://127.0.0.1:*");
    caller.connect(endpoint);
    second.connect(endpoint);
  }
  ~Slow() { gate.open(); }  // whatever a test left waiting finishes

  Gate gate;
  Later later;  // joined after the peers are gone: its threads' answers then go nowhere
  Server backend{"backend", PeerOptions{.worker_threads = 16}};
  Client to_backend{"backend"};
  Server server{"server", PeerOptions{.worker_threads = 24}};
  Client caller{"server"};
  Client second{"server"};
  std::string endpoint;
};

TEST(GracefulStop, AcceptedRequestsAreAnsweredAndNewOnesRefusedFast) {
  Slow s;
  EXPECT_EQ(s.second.call<std::string>(health_function, CallOptions{.timeout = bound * slowdown}), "SERVING");

  // From the hook: the socket is still open, so a second client's new call is
  // refused (not lost to a closed connection), and health says NOT_SERVING.
  struct HookSaw {
    Clock::time_point at;
    std::string outcome;
    double refused_ms = 0;
    std::string health;
    bool inspect_answered = false;
  } hook;
  std::promise<void> hook_done;
  s.server.on_stopping([&] {
    hook.at = Clock::now();
    const auto start = Clock::now();
    try {
      s.second.call<int>("blocking_work", 1, CallOptions{.timeout = 2s});
      hook.outcome = "ran";
    } catch (const UnavailableError& e) {
      hook.outcome = "UnavailableError";
    } catch (const std::exception& e) {
      hook.outcome = e.what();
    }
    hook.refused_ms = ms_since(start);
    hook.health = s.second.call<std::string>(health_function, CallOptions{.timeout = bound});
    hook.inspect_answered =
        s.second.call<msgpack::object_handle>(introspection_function, CallOptions{.timeout = bound}).get().type ==
        msgpack::type::ARRAY;
    hook_done.set_value();
  });

  constexpr int per_kind[] = {20, 15, 15};
  const char* kinds[] = {"blocking_work", "channel_work", "coroutine_work"};
  std::vector<std::pair<int, std::future<int>>> calls;
  int n = 0;
  for (int k = 0; k < 3; ++k) {
    for (int i = 0; i < per_kind[k]; ++i, ++n) {
      calls.emplace_back(n, s.caller.async_call<int>(kinds[k], n, CallOptions{.timeout = 10s}));
    }
  }
  ASSERT_EQ(calls.size(), 50u);
  ASSERT_TRUE(s.gate.wait_arrived(50)) << "the 50 calls did not all start";

  const auto stop_began = Clock::now();
  auto stopping = std::async(std::launch::async, [&] {
    s.server.stop(grace);
    return Clock::now();
  });
  auto hook_ran = hook_done.get_future();
  ASSERT_EQ(hook_ran.wait_for(bound * slowdown), std::future_status::ready) << "the on_stopping hook did not run";
  EXPECT_EQ(hook.outcome, "UnavailableError");
  EXPECT_EQ(hook.health, "NOT_SERVING");
  EXPECT_TRUE(hook.inspect_answered);

  // Draining now (every handler waits at the gate): refused fast from here too.
  EXPECT_EQ(stopping.wait_for(0ms), std::future_status::timeout) << "stop returned before the requests were answered";
  const auto start = Clock::now();
  std::string outcome;
  try {
    s.second.call<int>("channel_work", 1, CallOptions{.timeout = 2s});
    outcome = "ran";
  } catch (const UnavailableError& e) {
    outcome = "UnavailableError";
    EXPECT_NE(std::string(e.message()).find("channel_work"), std::string::npos) << e.what();
  }
  const double refused_ms = ms_since(start);
  EXPECT_EQ(outcome, "UnavailableError");
  EXPECT_LT(refused_ms, refusal_bound_ms);
  EXPECT_LT(hook.refused_ms, refusal_bound_ms);
  EXPECT_EQ(s.second.call<std::string>(health_function, CallOptions{.timeout = bound}), "NOT_SERVING");
  EXPECT_EQ(s.second.call<std::string>(health_function, "server", CallOptions{.timeout = bound}), "NOT_SERVING");
  EXPECT_FALSE(s.server.health());

  const auto released = Clock::now();
  s.gate.open();
  ASSERT_EQ(stopping.wait_for(grace + 1s), std::future_status::ready) << "stop(grace) did not return within grace + 1 s";
  const auto stop_returned = stopping.get();
  EXPECT_LT(hook.at, stop_returned);
  int answered = 0;
  for (auto& [i, future] : calls) {
    try {
      EXPECT_EQ(get_within(future), 2 * i);
      ++answered;
    } catch (const std::exception& e) {
      ADD_FAILURE() << "call " << i << ": " << e.what();
    }
  }
  EXPECT_EQ(answered, 50);
  const PeerStats stats = s.server.stats();
  EXPECT_EQ(stats.abandoned_at_stop, 0u);
  EXPECT_EQ(stats.refused_stopping, 2u);
  EXPECT_TRUE(s.server.stopped());
  const double drain_ms = std::chrono::duration<double, std::milli>(stop_returned - released).count();
  std::printf("[figure] graceful stop(%lld s): %d/50 in-flight calls answered (20 blocking, 15 ReplyChannel, 15 "
              "coroutine), 0 lost; new call refused with UnavailableError in %.2f ms (from the hook: %.2f ms); health "
              "NOT_SERVING during the drain; stop returned %.0f ms after the handlers were released (%.0f ms after "
              "it began); abandoned_at_stop=%llu refused_stopping=%llu\n",
              static_cast<long long>(std::chrono::duration_cast<std::chrono::seconds>(grace).count()), answered,
              refused_ms, hook.refused_ms, drain_ms, ms_since(stop_began) - ms_since(stop_returned),
              static_cast<unsigned long long>(stats.abandoned_at_stop),
              static_cast<unsigned long long>(stats.refused_stopping));
}

TEST(GracefulStop, PastTheGraceItStopsAnywayAndCountsWhatItAbandoned) {
  Gate gate;
  std::mutex channels_mutex;
  std::vector<ReplyChannel> channels;  // never answered before the stop
  {
    Server server("server", PeerOptions{.worker_threads = 4});
    server.register_rpc(
        "stuck",
        [&](int) {
          gate.arrive();
          gate.wait_open();
          return 1;
        },
        {.blocking = true});
    server.register_rpc("stuck_channel", [&](ReplyChannel channel, int) {
      std::lock_guard lock(channels_mutex);
      channels.push_back(std::move(channel));
      gate.arrive();
    });
    Client client("server");
    client.connect(server.bind("tcp://127.0.0.1:*"));
    std::vector<std::future<int>> calls;
    for (int i = 0; i < 3; ++i) calls.push_back(client.async_call<int>("stuck", i, CallOptions{.timeout = 3s}));
    for (int i = 0; i < 2; ++i) calls.push_back(client.async_call<int>("stuck_channel", i, CallOptions{.timeout = 3s}));
    ASSERT_TRUE(gate.wait_arrived(5));

    constexpr auto grace = 300ms;
    const auto start = Clock::now();
    server.stop(grace);
    const double took = ms_since(start);
    EXPECT_GE(took, 290.0);
    EXPECT_LT(took, 300.0 + 1000.0);
    EXPECT_EQ(server.stats().abandoned_at_stop, 5u);
    gate.open();  // the workers finish; their replies go nowhere
    int failed = 0;
    for (auto& call : calls) {
      ASSERT_EQ(call.wait_for(bound), std::future_status::ready);
      try {
        call.get();
      } catch (const Error&) {
        ++failed;
      }
    }
    EXPECT_EQ(failed, 5);
    std::printf("[figure] graceful stop past its grace: stop(300 ms) returned after %.0f ms with 5 requests "
                "unanswered; abandoned_at_stop=%llu\n",
                took, static_cast<unsigned long long>(server.stats().abandoned_at_stop));
  }
  channels.clear();  // answers after the stop go nowhere
}

TEST(GracefulStop, QueuedRequestsAreAnsweredAndLargeNewOnesRefused) {
  Gate gate;
  Server server("server", PeerOptions{.worker_threads = 1});
  server.register_rpc(
      "one_at_a_time",
      [&](int i) {
        gate.arrive();
        gate.wait_open();
        return 2 * i;
      },
      {.blocking = true});
  server.register_rpc("ping", [] { return true; });
  server.register_rpc("size", [](const std::string& text) { return text.size(); }, {.blocking = true});
  Client client("server");
  Client second("server");
  const std::string endpoint = server.bind("tcp://127.0.0.1:*");
  client.connect(endpoint);
  second.connect(endpoint);
  ASSERT_TRUE(second.call<bool>("ping", CallOptions{.timeout = bound}));
  std::vector<std::future<int>> calls;
  for (int i = 0; i < 3; ++i) calls.push_back(client.async_call<int>("one_at_a_time", i, CallOptions{.timeout = 10s}));
  // One connection delivers in order: once ping is answered, the three were
  // read, one runs on the only worker and two wait in its queue.
  ASSERT_TRUE(client.call<bool>("ping", CallOptions{.timeout = bound}));
  ASSERT_TRUE(gate.wait_arrived(1));

  std::string large_outcome;
  server.on_stopping([&] {
    try {
      // Over 64 KiB: decoded off the engine thread when accepted; refused unread now.
      second.call<std::size_t>("size", std::string(100 * 1024, 'x'), CallOptions{.timeout = 2s});
      large_outcome = "ran";
    } catch (const UnavailableError&) {
      large_outcome = "UnavailableError";
    } catch (const std::exception& e) {
      large_outcome = e.what();
    }
    gate.open();
  });
  const auto start = Clock::now();
  server.stop(2s);
  const double took = ms_since(start);
  EXPECT_EQ(large_outcome, "UnavailableError");
  for (int i = 0; i < 3; ++i) EXPECT_EQ(get_within(calls[i]), 2 * i);
  EXPECT_EQ(server.stats().abandoned_at_stop, 0u);
  std::printf("[figure] graceful stop with 1 running and 2 queued blocking requests: 3/3 answered, stop took %.1f ms; "
              "a 100 KiB request sent meanwhile: %s\n",
              took, large_outcome.c_str());
}

TEST(GracefulStop, IsRefusedOnAnEngineThreadAndHarmlessTwice) {
  Server server("server");
  server.register_rpc("stop_here", [&server] {
    try {
      server.stop(1s);
      return std::string("stopped");
    } catch (const UsageError&) {
      return std::string("refused");
    }
  });
  Client client("server");
  client.connect(server.bind("tcp://127.0.0.1:*"));
  EXPECT_EQ(client.call<std::string>("stop_here", CallOptions{.timeout = bound}), "refused");
  int hooks = 0;
  server.on_stopping([&] { ++hooks; });
  EXPECT_THROW(server.on_stopping({}), UsageError);

  const auto start = Clock::now();
  server.stop(2s);  // nothing in flight: at once
  const double idle_ms = ms_since(start);
  EXPECT_LT(idle_ms, 1000.0);
  server.stop(2s);
  server.stop();
  EXPECT_EQ(hooks, 1);
  EXPECT_TRUE(server.stopped());
  EXPECT_THROW(client.call("stop_here", CallOptions{.timeout = 300ms}), Error);

  Server other("other");
  other.stop();
  const auto again = Clock::now();
  other.stop(2s);  // after stop(): nothing to do
  EXPECT_LT(ms_since(again), 100.0);
  std::printf("[figure] stop(2 s) of an idle peer took %.2f ms; after stop(), %.2f ms\n", idle_ms, ms_since(again));
}

TEST(GracefulStop, CallsThePeerItselfHasPendingFailWithPeerStopped) {
  Gate gate;
  Server server("server");
  Client client("server", PeerOptions{.routing_id = "client"});
  client.register_rpc("slow", [&] {
    gate.arrive();
    gate.wait_open();
    return 1;
  }, {.blocking = true});
  client.connect(server.bind("tcp://127.0.0.1:*"));
  ASSERT_EQ(client.call<std::string>(health_function, CallOptions{.timeout = bound}), "SERVING");
  auto pending = server.send_to("client").async_call<int>("slow", CallOptions{.timeout = 10s});
  ASSERT_TRUE(gate.wait_arrived(1));
  server.stop(200ms);
  EXPECT_THROW(get_within(pending), PeerStoppedError);
  gate.open();
}

}  // namespace
}  // namespace pseud::test
