// Connection churn against one long-lived server (SECURITY-NOTES §E7, §F):
//   * 1 000 reconnect-then-call cycles (a new Client for every call, gRPC's
//     channel_soak): every call succeeds;
//   * 10 000 connect / disconnect cycles: the server's table of connected
//     peers, its pending calls, this process's file descriptors and threads
//     all return to their baseline, and every join has its gone event.
// Client and server share this process (and the process-wide ZeroMQ
// context), so descriptors and threads left behind by either side show up in
// /proc/self.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include "fault_support.hpp"
#include "pseud/pseud.hpp"
#include "test_support.hpp"

namespace pseud::faults {
namespace {

constexpr auto bound = 5000ms;

// Joins and gone events of a server, countable and awaitable.
struct Membership {
  std::mutex mutex;
  std::condition_variable changed;
  long joined = 0;
  long gone = 0;

  void attach(PeerOptions& options) {
    options.on_peer_joined = [this](const PeerInfo&) {
      {
        std::lock_guard lock(mutex);
        ++joined;
      }
      changed.notify_all();
    };
    options.on_peer_gone = [this](const PeerInfo&, const std::string&) {
      {
        std::lock_guard lock(mutex);
        ++gone;
      }
      changed.notify_all();
    };
  }
  bool wait_joined(long n, std::chrono::milliseconds limit) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, limit, [&] { return joined >= n; });
  }
  std::pair<long, long> counts() {
    std::lock_guard lock(mutex);
    return {joined, gone};
  }
};

// A server (in this process) that counts its peers, on tcp://127.0.0.1.
struct Arena {
  Arena() {
    PeerOptions options;
    membership->attach(options);
    server = std::make_unique<Server>("server", options);
    server->register_rpc("add", [](int a, int b) { return a + b; });
    endpoint = server->bind("tcp://127.0.0.1:*");
  }
  ~Arena() { server->stop(); }  // before `membership`, which its callbacks use

  // Waits until the server lists nobody and this process's descriptors are back to `fds`.
  bool settles(int fds, std::chrono::milliseconds limit = bound) const {
    return test::eventually([&] { return server->connected_peers().empty() && open_fds() <= fds; }, limit);
  }

  std::unique_ptr<Membership> membership = std::make_unique<Membership>();
  std::unique_ptr<Server> server;
  std::string endpoint;
};

// One call and its client gone: the process-wide context and its I/O thread
// exist from here on, so the baselines taken next include them.
void warm_up(const Arena& arena) {
  {
    Client client("server");
    client.connect(arena.endpoint);
    ASSERT_EQ(client.call<int>("add", 1, 1, CallOptions{.timeout = bound}), 2);
  }
  ASSERT_TRUE(test::eventually([&] { return arena.server->connected_peers().empty(); }, bound));
}

struct Percentiles {
  double p50 = 0, p99 = 0, max = 0;
};

Percentiles percentiles(std::vector<double> values) {
  if (values.empty()) return {};
  std::sort(values.begin(), values.end());
  const auto at = [&](double q) {
    return values[std::min(values.size() - 1, static_cast<std::size_t>(q * values.size()))];
  };
  return {at(0.50), at(0.99), values.back()};
}

TEST(Cycles, ReconnectThenCallAlwaysSucceeds) {
  const long cycles = count(1000, 1000, 1000);
  Arena arena;
  ASSERT_NO_FATAL_FAILURE(warm_up(arena));
  const int baseline_fds = open_fds();
  const long baseline_threads = thread_count();

  long ok = 0;
  std::vector<std::string> failures;
  std::vector<double> cycle_ms;
  cycle_ms.reserve(static_cast<std::size_t>(cycles));
  const auto started = Clock::now();
  for (long i = 0; i < cycles; ++i) {
    const auto cycle_started = Clock::now();
    try {
      Client client("server");
      client.connect(arena.endpoint);
      const int sum = client.call<int>("add", static_cast<int>(i), 1, CallOptions{.timeout = bound});
      if (sum == i + 1) {
        ++ok;
      } else {
        failures.push_back("cycle " + std::to_string(i) + ": wrong sum " + std::to_string(sum));
      }
    } catch (const std::exception& e) {
      failures.push_back("cycle " + std::to_string(i) + ": " + e.what());
    }
    cycle_ms.push_back(ms_between(cycle_started, Clock::now()));
  }
  const double total_s = ms_between(started, Clock::now()) / 1000.0;
  const bool settled = arena.settles(baseline_fds);
  const Percentiles p = percentiles(cycle_ms);
  figure(
      "%ld/%ld reconnect-then-call cycles succeeded (%s count) in %.1f s; cycle p50 %.2f ms, p99 %.2f ms, max "
      "%.2f ms; descriptors %d -> %d, threads %ld -> %ld, server lists %zu peers",
      ok, cycles, count_kind(), total_s, p.p50, p.p99, p.max, baseline_fds, open_fds(), baseline_threads,
      thread_count(), arena.server->connected_peers().size());
  EXPECT_EQ(ok, cycles);
  for (std::size_t i = 0; i < std::min<std::size_t>(failures.size(), 5); ++i) ADD_FAILURE() << failures[i];
  EXPECT_TRUE(settled) << "descriptors " << open_fds() << " (baseline " << baseline_fds << "), peers listed "
                       << arena.server->connected_peers().size();
  EXPECT_EQ(arena.server->stats().requests_handled, static_cast<std::uint64_t>(cycles + 1));
  EXPECT_EQ(arena.server->stats().pending_calls, 0u);
  EXPECT_TRUE(test::eventually([&] { return thread_count() <= baseline_threads; }, bound))
      << "threads " << thread_count() << " (baseline " << baseline_threads << ")";
}

TEST(Cycles, ConnectDisconnectReturnsDescriptorsAndTablesToBaseline) {
  const long cycles = count(10000, 10000, 5000);
  const long checkpoints = 10;
  Arena arena;
  ASSERT_NO_FATAL_FAILURE(warm_up(arena));
  const int baseline_fds = open_fds();
  const long baseline_threads = thread_count();
  const long baseline_rss = rss_kib();
  const long joined_before = arena.membership->counts().first;

  int most_fds = baseline_fds;
  std::size_t most_peers = 0;
  long stalled = 0;
  std::string progress;
  const auto started = Clock::now();
  for (long i = 1; i <= cycles; ++i) {
    {
      // Connects, and is accepted: the server sees its probe and lists it.
      Client client("server");
      client.connect(arena.endpoint);
      if (!arena.membership->wait_joined(joined_before + i, bound)) {
        ++stalled;
        ADD_FAILURE() << "cycle " << i << ": the server never saw the client join";
        if (stalled > 3) break;
      }
    }  // ... and disconnects: stop() closes its socket.
    if (i % (cycles / checkpoints) == 0) {
      // A server a few disconnections behind (a busy machine: seen once in CI
      // with 5 listed) catches up within a second; a leak never does.
      test::eventually([&] { return open_fds() <= baseline_fds + 16; }, 1000ms);
      const int fds = open_fds();
      const std::size_t peers = arena.server->connected_peers().size();
      most_fds = std::max(most_fds, fds);
      most_peers = std::max(most_peers, peers);
      progress += (progress.empty() ? "" : ", ") + std::to_string(i) + ": " + std::to_string(fds) + " fds/" +
                  std::to_string(peers) + " listed";
    }
  }
  const double total_s = ms_between(started, Clock::now()) / 1000.0;
  const bool settled = arena.settles(baseline_fds);
  const auto [joined, gone] = arena.membership->counts();
  const PeerStats stats = arena.server->stats();
  figure(
      "%ld connect/disconnect cycles (%s count) in %.1f s (%.2f ms each): descriptors %d at baseline, at most %d "
      "at checkpoints, %d after; server lists %zu peers after (at most %zu at checkpoints); joins %ld, gone %ld; "
      "threads %ld -> %ld; RSS %ld -> %ld KiB",
      cycles, count_kind(), total_s, 1000.0 * total_s / static_cast<double>(cycles), baseline_fds, most_fds, open_fds(),
      arena.server->connected_peers().size(), most_peers, joined - joined_before, gone - joined_before,
      baseline_threads, thread_count(), baseline_rss, rss_kib());
  std::printf("[ detail ] checkpoints (cycle: descriptors/listed peers): %s\n", progress.c_str());
  EXPECT_TRUE(settled) << "descriptors " << open_fds() << " (baseline " << baseline_fds << "), peers listed "
                       << arena.server->connected_peers().size();
  EXPECT_EQ(joined - joined_before, cycles);
  EXPECT_TRUE(test::eventually([&] { return arena.membership->counts().second == joined; }, bound))
      << "gone events " << arena.membership->counts().second << " for " << joined << " joins";
  EXPECT_EQ(stats.pending_calls, 0u);
  EXPECT_EQ(stats.malformed_messages, 0u);
  EXPECT_TRUE(test::eventually([&] { return thread_count() <= baseline_threads; }, bound))
      << "threads " << thread_count() << " (baseline " << baseline_threads << ")";
  // Descriptors in use while a cycle runs: the client's socket, its engine's
  // queue, the server's accepted connection... a few, never growing with cycles.
  EXPECT_LE(most_fds, baseline_fds + 16);
}

}  // namespace
}  // namespace pseud::faults
