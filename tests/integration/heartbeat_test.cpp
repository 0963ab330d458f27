// Heartbeats and peer liveness (SECURITY-NOTES §4 D, PROTOCOL-NOTES §7/§10),
// with the "liveness" backend at H = 100 ms, L = 3, so a silent peer must be
// gone within (L + 1) x H = 400 ms:
//   * join/gone bookkeeping for a clean stop, with noop and liveness;
//   * a frozen (SIGSTOP) and a killed (SIGKILL) client process, measured from
//     the signal to the server's on_peer_gone;
//   * 60 s of idle but healthy connection: no false eviction;
//   * a 5 s blocking handler: neither side declares the other gone;
//   * calls pending to a peer declared gone fail at once with PeerGoneError;
//   * Python-style heartbeats from a raw ROUTER peer are accepted, and what
//     the server sends back is exactly a HEARTBEAT frame set;
//   * a REQ peer (spoken to over a hand-rolled ZMTP 3.0 connection, so every
//     byte the server sends is visible) gets its one reply and no pings;
//   * the client role: a client whose server process is frozen or killed.
// Freezing needs a real process: tests spawn peer_process / server_process
// (tests/support), found through PSEUD_PEER_PROCESS / PSEUD_SERVER_PROCESS or
// next to this binary. A ChildProcess guard SIGKILLs and reaps them whatever
// happens. Measured figures go to RecordProperty and stdout ("[ measured ]").

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "child_process.hpp"
#include "pseud/pseud.hpp"
#include "frame_bytes.hpp"
#include "test_support.hpp"

namespace pseud::test {
namespace {

using Clock = std::chrono::steady_clock;

// ---- the configuration under test --------------------------------------------

constexpr auto interval = 100ms;  // H
constexpr int liveness = 3;       // L
constexpr auto detection_limit = interval * (liveness + 1);  // (L + 1) x H = 400 ms
constexpr auto kill_limit = interval;                        // a closed connection: within one interval

Settings liveness_settings(bool require_heartbeats = false) {
  Settings settings{{"interval_ms", std::to_string(interval.count())}, {"liveness", std::to_string(liveness)}};
  if (require_heartbeats) settings.add("require_heartbeats", "true");
  return settings;
}

BackendChoice liveness_backend() { return {"liveness", liveness_settings()}; }

double as_ms(std::chrono::milliseconds duration) { return static_cast<double>(duration.count()); }

double ms_between(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

// Records a measured figure in the XML report and on stdout.
void report(const std::string& key, double ms, const std::string& note = {}) {
  char text[64];
  std::snprintf(text, sizeof text, "%.2f", ms);
  ::testing::Test::RecordProperty(key, text);
  std::printf("[ measured ] %s = %s ms%s%s\n", key.c_str(), text, note.empty() ? "" : "  ", note.c_str());
  std::fflush(stdout);
}

using namespace frame_bytes;
// A HEARTBEAT as a ROUTER peer sees it after the routing frame (and as it
// travels on the wire): [ "", "v1", "", 0x06, "" ].
const Frames heartbeat_frames{"", V, "", HEARTBEAT, ""};

std::string describe(const Frames& frames) {
  std::string out = "[";
  for (std::size_t i = 0; i < frames.size(); ++i) out += (i ? ", " : "") + hex_encode(frames[i]);
  return out + "]";
}

bool lists(const std::vector<PeerInfo>& peers, const std::string& routing_id) {
  for (const auto& peer : peers) {
    if (peer.routing_id == routing_id) return true;
  }
  return false;
}

// ---- join and gone events ------------------------------------------------------

// Every join and gone event a peer reports, with when it happened.
class PeerEvents {
 public:
  struct Event {
    PeerInfo peer;
    std::string reason;
    Clock::time_point at;
  };

  // Points `options`' callbacks at `events` (shared: the engine may outlive a test's locals).
  static void attach(const std::shared_ptr<PeerEvents>& events, PeerOptions& options) {
    options.on_peer_joined = [events](const PeerInfo& peer) { events->add(events->joined_, peer, {}); };
    options.on_peer_gone = [events](const PeerInfo& peer, const std::string& reason) {
      events->add(events->gone_, peer, reason);
    };
  }

  std::size_t joined_count(const std::string& routing_id) const { return count(joined_, routing_id); }
  std::size_t gone_count(const std::string& routing_id) const { return count(gone_, routing_id); }
  std::size_t total_gone() const {
    std::lock_guard lock(mutex_);
    return gone_.size();
  }
  std::vector<Event> all_gone() const {
    std::lock_guard lock(mutex_);
    return gone_;
  }

  std::optional<Event> wait_joined(const std::string& routing_id, std::chrono::milliseconds limit) {
    return wait_for(joined_, routing_id, limit);
  }
  std::optional<Event> wait_gone(const std::string& routing_id, std::chrono::milliseconds limit) {
    return wait_for(gone_, routing_id, limit);
  }
  // Waits up to `limit` for the gone-event count to exceed `count`; the first event past it, if any.
  std::optional<Event> wait_gone_beyond(std::size_t count, std::chrono::milliseconds limit) {
    std::unique_lock lock(mutex_);
    if (!changed_.wait_for(lock, limit, [&] { return gone_.size() > count; })) return std::nullopt;
    return gone_[count];
  }

 private:
  void add(std::vector<Event>& list, const PeerInfo& peer, const std::string& reason) {
    const auto now = Clock::now();
    {
      std::lock_guard lock(mutex_);
      list.push_back(Event{peer, reason, now});
    }
    changed_.notify_all();
  }
  std::size_t count(const std::vector<Event>& list, const std::string& routing_id) const {
    std::lock_guard lock(mutex_);
    std::size_t n = 0;
    for (const auto& event : list) n += event.peer.routing_id == routing_id ? 1 : 0;
    return n;
  }
  std::optional<Event> wait_for(const std::vector<Event>& list, const std::string& routing_id,
                                std::chrono::milliseconds limit) {
    std::unique_lock lock(mutex_);
    std::optional<Event> found;
    changed_.wait_for(lock, limit, [&] {
      for (const auto& event : list) {
        if (event.peer.routing_id == routing_id) {
          found = event;
          return true;
        }
      }
      return false;
    });
    return found;
  }

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<Event> joined_;
  std::vector<Event> gone_;
};

// ---- an observed liveness backend ---------------------------------------------

// The routing ids an observed peer has received a HEARTBEAT from.
class HeartbeatsSeen {
 public:
  void add(const std::string& routing_id) {
    {
      std::lock_guard lock(mutex_);
      if (!seen_.insert(routing_id).second) return;
    }
    changed_.notify_all();
  }
  bool wait(const std::string& routing_id, std::chrono::milliseconds limit) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, limit, [&] { return seen_.count(routing_id) > 0; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::set<std::string> seen_;
};

// The real "liveness" backend, forwarded to call for call; it only notes which
// peers have sent a HEARTBEAT. By design (liveness.cpp) a peer is timed out for
// silence only after it has sent one, so the freeze tests wait for that before
// they freeze the peer, instead of sleeping "long enough".
class ObservedLiveness final : public HeartbeatBackend {
 public:
  ObservedLiveness(std::unique_ptr<HeartbeatBackend> inner, std::shared_ptr<HeartbeatsSeen> seen)
      : inner_(std::move(inner)), seen_(std::move(seen)) {}

  void configure(HeartbeatHost& host) override { inner_->configure(host); }
  void stop() override { inner_->stop(); }
  std::optional<std::chrono::milliseconds> sweep_interval() const override { return inner_->sweep_interval(); }
  void sweep(HeartbeatHost& host, std::chrono::steady_clock::time_point now) override { inner_->sweep(host, now); }
  void handle_heartbeat(HeartbeatHost& host, const PeerState& peer) override {
    inner_->handle_heartbeat(host, peer);
    if (peer.sends_heartbeats) seen_->add(peer.routing_id);
  }
  void handle_timeout(HeartbeatHost& host, const PeerState& peer) override { inner_->handle_timeout(host, peer); }

 private:
  std::unique_ptr<HeartbeatBackend> inner_;
  std::shared_ptr<HeartbeatsSeen> seen_;
};

// Registers an observed liveness backend under a fresh name and returns the choice naming it.
BackendChoice observed_liveness(const std::shared_ptr<HeartbeatsSeen>& seen, Settings settings = liveness_settings()) {
  static std::atomic<int> counter{0};
  std::string name = "test-observed-liveness-" + std::to_string(counter.fetch_add(1));
  register_heartbeat_backend(name, [seen](PeerRole role, const Settings& s) -> std::unique_ptr<HeartbeatBackend> {
    return std::make_unique<ObservedLiveness>(make_heartbeat_backend(BackendChoice{"liveness", s}, role), seen);
  });
  return {std::move(name), std::move(settings)};
}

// ---- child processes -----------------------------------------------------------

std::string helper_path(const char* variable, const char* name) {
  if (const char* path = std::getenv(variable); path && *path) return path;
  // Not run by meson: look next to this test binary.
  std::array<char, PATH_MAX> self{};
  const ssize_t n = ::readlink("/proc/self/exe", self.data(), self.size() - 1);
  std::string dir = n > 0 ? std::string(self.data(), static_cast<std::size_t>(n)) : std::string(".");
  dir.erase(dir.find_last_of('/') == std::string::npos ? 0 : dir.find_last_of('/'));
  return (dir.empty() ? std::string(".") : dir) + "/" + name;
}

std::string peer_process_path() { return helper_path("PSEUD_PEER_PROCESS", "peer_process"); }
std::string server_process_path() { return helper_path("PSEUD_SERVER_PROCESS", "server_process"); }

// peer_process and server_process are built by tests/meson.build: say so when they cannot be spawned.
const ChildProcessOptions helper_options{.spawn_hint = " (build the helper programs; see tests/meson.build)"};

// A peer_process client (liveness, H, L) connected to `endpoint` as `routing_id`, past "ready".
std::unique_ptr<ChildProcess> start_peer_process(const std::string& endpoint, const std::string& routing_id) {
  auto child = std::make_unique<ChildProcess>(
      peer_process_path(),
      std::vector<std::string>{endpoint, "--heartbeat", "liveness", "--interval-ms", std::to_string(interval.count()),
                               "--liveness", std::to_string(liveness), "--routing-id", routing_id},
      helper_options);
  const auto line = child->read_line(bound);
  if (line != "ready") {
    ADD_FAILURE() << "peer_process did not print 'ready' within 5 s (got "
                  << (line ? "'" + *line + "'" : std::string("nothing")) << ")";
    return nullptr;
  }
  return child;
}

// ---- outcome of one asynchronous call ----------------------------------------

// The state is shared with the callback: a call still pending when a test
// returns early completes (PeerStoppedError) after the test's locals are gone.
template <class R>
class CallOutcome {
 public:
  // The callback for Target::async_call: records the result and when it came.
  auto callback() {
    return [state = state_](Result<R> result) {
      {
        std::lock_guard lock(state->mutex);
        state->error = result.error();
        state->at = Clock::now();
        state->done = true;
      }
      state->changed.notify_all();
    };
  }
  bool wait(std::chrono::milliseconds limit) {
    std::unique_lock lock(state_->mutex);
    return state_->changed.wait_for(lock, limit, [this] { return state_->done; });
  }
  bool done() {
    std::lock_guard lock(state_->mutex);
    return state_->done;
  }
  std::exception_ptr error() {
    std::lock_guard lock(state_->mutex);
    return state_->error;
  }
  Clock::time_point at() {
    std::lock_guard lock(state_->mutex);
    return state_->at;
  }

 private:
  struct State {
    std::mutex mutex;
    std::condition_variable changed;
    bool done = false;
    std::exception_ptr error;
    Clock::time_point at{};
  };
  std::shared_ptr<State> state_ = std::make_shared<State>();
};

// "" when `error` is a PeerGoneError, else a description of what it is.
std::string not_peer_gone(const std::exception_ptr& error) {
  if (!error) return "the call succeeded";
  try {
    std::rethrow_exception(error);
  } catch (const PeerGoneError&) {
    return {};
  } catch (const std::exception& e) {
    return std::string("another error: ") + e.what();
  }
}

// ---- 1. join/gone bookkeeping ------------------------------------------------------

class JoinAndGone : public ::testing::TestWithParam<std::string> {};

INSTANTIATE_TEST_SUITE_P(Heartbeats, JoinAndGone, ::testing::Values("noop", "liveness"));

TEST_P(JoinAndGone, ClientJoinsOnceAndIsGoneOnceAfterACleanStop) {
  // "noop" takes no settings (an unknown one is refused).
  const BackendChoice heartbeat{GetParam(), GetParam() == "liveness" ? liveness_settings() : Settings{}};
  const std::string routing_id = "joiner-" + GetParam();
  auto events = std::make_shared<PeerEvents>();
  auto client_events = std::make_shared<PeerEvents>();
  PeerOptions server_options{.heartbeat = heartbeat};
  PeerEvents::attach(events, server_options);
  Server server("server", server_options);
  server.register_rpc("ping", [] { return std::string("pong"); });
  const std::string endpoint = server.bind("tcp://127.0.0.1:*");

  Clock::time_point stopped_at;
  {
    PeerOptions client_options{.heartbeat = heartbeat, .routing_id = routing_id};
    PeerEvents::attach(client_events, client_options);
    Client client("server", client_options);
    client.connect(endpoint);
    ASSERT_EQ(client.call<std::string>("ping"), "pong");

    const auto joined = events->wait_joined(routing_id, bound);
    ASSERT_TRUE(joined) << "on_peer_joined never fired for '" << routing_id << "'";
    EXPECT_EQ(joined->peer.user_id, "");  // noop auth: no user
    ASSERT_TRUE(eventually([&] { return lists(server.connected_peers(), routing_id); }, 1000ms));
    const auto peers = server.connected_peers();
    ASSERT_EQ(peers.size(), 1u);
    EXPECT_EQ(peers[0].routing_id, routing_id);
    EXPECT_EQ(peers[0].user_id, "");
    // The client's own view: its server joined, once.
    ASSERT_TRUE(client_events->wait_joined("server", bound));
    EXPECT_TRUE(lists(client.connected_peers(), "server"));
    EXPECT_EQ(client_events->joined_count("server"), 1u);
    // More traffic does not make it join again.
    ASSERT_EQ(client.call<std::string>("ping"), "pong");
    EXPECT_EQ(events->joined_count(routing_id), 1u);
    EXPECT_EQ(events->total_gone(), 0u);

    stopped_at = Clock::now();
    client.stop();
  }
  const auto gone = events->wait_gone(routing_id, bound);
  ASSERT_TRUE(gone) << "a client that stopped was never declared gone (" << GetParam() << " heartbeat)";
  const double took = ms_between(stopped_at, gone->at);
  report("clean_stop_gone_ms_" + GetParam(), took, "reason: " + gone->reason);
  // A closed connection is mapped to its peer (connection_events.cpp): no heartbeat needed.
  EXPECT_LE(took, as_ms(kill_limit)) << "reason: " << gone->reason;
  EXPECT_FALSE(lists(server.connected_peers(), routing_id));
  // Exactly once: no second event in the next L + 1 intervals (sweeps run every H/2).
  const auto again = events->wait_gone_beyond(1, detection_limit);
  EXPECT_FALSE(again) << "a second gone event: '" << again->peer.routing_id << "': " << again->reason;
  EXPECT_EQ(events->joined_count(routing_id), 1u);
}

// ---- 2./3. frozen and killed client processes ----------------------------------

struct ServerUnderTest {
  explicit ServerUnderTest(Settings heartbeat_settings = liveness_settings()) {
    PeerOptions options{.heartbeat = observed_liveness(seen, std::move(heartbeat_settings))};
    PeerEvents::attach(events, options);
    server = std::make_unique<Server>("server", options);
    server->register_rpc("ping", [] { return std::string("pong"); });
    endpoint = server->bind("tcp://127.0.0.1:*");
  }

  std::shared_ptr<PeerEvents> events = std::make_shared<PeerEvents>();
  std::shared_ptr<HeartbeatsSeen> seen = std::make_shared<HeartbeatsSeen>();
  std::unique_ptr<Server> server;
  std::string endpoint;
};

TEST(PeerProcess, FrozenPeerIsGoneWithinLPlusOneIntervals) {
  ServerUnderTest arena;
  const std::string id = "frozen";
  auto peer = start_peer_process(arena.endpoint, id);
  ASSERT_TRUE(peer);
  ASSERT_TRUE(arena.events->wait_joined(id, bound));
  // Only a peer that has shown it heartbeats is timed out for silence.
  ASSERT_TRUE(arena.seen->wait(id, bound)) << "the peer process never sent a HEARTBEAT";

  const auto frozen_at = Clock::now();
  peer->signal(SIGSTOP);
  const auto gone = arena.events->wait_gone(id, bound);
  ASSERT_TRUE(gone) << "a frozen peer was not declared gone within 5 s";
  const double took = ms_between(frozen_at, gone->at);
  report("frozen_peer_gone_ms", took, "reason: " + gone->reason);
  EXPECT_LE(took, as_ms(detection_limit));
  EXPECT_EQ(gone->reason.rfind("no message for", 0), 0u) << gone->reason;
  EXPECT_FALSE(lists(arena.server->connected_peers(), id));
  EXPECT_EQ(arena.events->gone_count(id), 1u);
  peer->kill_and_reap();
}

// A liveness peer frozen before its first HEARTBEAT is never timed out by
// default (liveness.cpp: Python peers without heartbeats must not be evicted
// for idling); require_heartbeats=true closes that window.
TEST(PeerProcess, FrozenBeforeItsFirstHeartbeatIsGoneWithRequireHeartbeats) {
  ServerUnderTest arena(liveness_settings(/*require_heartbeats=*/true));
  const std::string id = "frozen-early";
  auto peer = start_peer_process(arena.endpoint, id);
  ASSERT_TRUE(peer);
  const auto frozen_at = Clock::now();  // at once: it may not have sent a HEARTBEAT yet
  peer->signal(SIGSTOP);
  const auto gone = arena.events->wait_gone(id, bound);
  ASSERT_TRUE(gone) << "a frozen peer was not declared gone within 5 s";
  const double took = ms_between(frozen_at, gone->at);
  report("frozen_early_peer_gone_ms", took, "reason: " + gone->reason);
  EXPECT_LE(took, as_ms(detection_limit));
  peer->kill_and_reap();
}

TEST(PeerProcess, KilledPeerIsGoneWithinOneInterval) {
  ServerUnderTest arena;
  const std::string id = "killed";
  auto peer = start_peer_process(arena.endpoint, id);
  ASSERT_TRUE(peer);
  ASSERT_TRUE(arena.events->wait_joined(id, bound));

  const auto killed_at = Clock::now();
  peer->signal(SIGKILL);
  const auto gone = arena.events->wait_gone(id, bound);
  ASSERT_TRUE(gone) << "a killed peer was not declared gone within 5 s";
  const double took = ms_between(killed_at, gone->at);
  report("killed_peer_gone_ms", took, "reason: " + gone->reason);
  EXPECT_LE(took, as_ms(kill_limit));
  EXPECT_FALSE(lists(arena.server->connected_peers(), id));
  EXPECT_EQ(arena.events->gone_count(id), 1u);
  peer->kill_and_reap();
}

// ---- 4. 60 s of idle, healthy connection ----------------------------------------

TEST(Idle, SixtySecondsWithoutCallsEvictsNobody) {
  auto events = std::make_shared<PeerEvents>();  // both sides report here
  PeerOptions server_options{.heartbeat = liveness_backend()};
  PeerEvents::attach(events, server_options);
  Server server("server", server_options);
  server.register_rpc("ping", [] { return std::string("pong"); });
  PeerOptions client_options{.heartbeat = liveness_backend(), .routing_id = "idler"};
  PeerEvents::attach(events, client_options);
  Client client("server", client_options);
  client.connect(server.bind("tcp://127.0.0.1:*"));
  ASSERT_EQ(client.call<std::string>("ping"), "pong");
  ASSERT_TRUE(events->wait_joined("idler", bound));
  ASSERT_TRUE(events->wait_joined("server", bound));

  // The idle period itself is what is under test: 60 s in which a gone event would end the wait.
  const auto gone = events->wait_gone_beyond(0, 60s);
  EXPECT_FALSE(gone) << "'" << gone->peer.routing_id << "' declared gone while idle: " << gone->reason;
  EXPECT_TRUE(lists(server.connected_peers(), "idler"));
  EXPECT_TRUE(lists(client.connected_peers(), "server"));
  EXPECT_EQ(events->joined_count("idler"), 1u);
  EXPECT_EQ(events->joined_count("server"), 1u);
  EXPECT_EQ(client.call<std::string>("ping"), "pong");
}

// ---- 5. a 5 s blocking handler ----------------------------------------------------

TEST(BlockingHandler, FiveSecondCallSucceedsAndNobodyIsGone) {
  auto events = std::make_shared<PeerEvents>();
  PeerOptions server_options{.heartbeat = liveness_backend()};
  PeerEvents::attach(events, server_options);
  Server server("server", server_options);
  server.register_rpc(
      "sleep",
      [](double seconds) {
        std::this_thread::sleep_for(std::chrono::duration<double>(seconds));  // the slow handler under test
        return seconds;
      },
      {.blocking = true});
  PeerOptions client_options{.heartbeat = liveness_backend(), .routing_id = "patient"};
  PeerEvents::attach(events, client_options);
  Client client("server", client_options);
  client.connect(server.bind("tcp://127.0.0.1:*"));

  const auto started = Clock::now();
  auto reply = client.async_call<double>("sleep", 5.0, CallOptions{.timeout = 30s});
  ASSERT_EQ(reply.wait_for(20s), std::future_status::ready) << "the 5 s call did not complete within 20 s";
  EXPECT_DOUBLE_EQ(reply.get(), 5.0);
  const double took = ms_between(started, Clock::now());
  report("five_second_call_ms", took);
  EXPECT_GE(took, 4900.0);
  EXPECT_EQ(events->total_gone(), 0u);
  for (const auto& gone : events->all_gone()) ADD_FAILURE() << "'" << gone.peer.routing_id << "' gone: " << gone.reason;
  EXPECT_TRUE(lists(server.connected_peers(), "patient"));
  EXPECT_TRUE(lists(client.connected_peers(), "server"));
  EXPECT_EQ(events->joined_count("patient"), 1u);
  EXPECT_EQ(events->joined_count("server"), 1u);
}

// ---- 6. calls pending to a peer that is gone -------------------------------------

class PendingCall : public ::testing::TestWithParam<int> {};

INSTANTIATE_TEST_SUITE_P(Heartbeats, PendingCall, ::testing::Values(SIGSTOP, SIGKILL),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return std::string(info.param == SIGSTOP ? "Frozen" : "Killed");
                         });

TEST_P(PendingCall, ServerCallToAGoneClientFailsAtOnceWithPeerGone) {
  const int signal_number = GetParam();
  const std::string label = signal_number == SIGSTOP ? "frozen" : "killed";
  ServerUnderTest arena;
  const std::string id = "sleeper-" + label;
  auto peer = start_peer_process(arena.endpoint, id);
  ASSERT_TRUE(peer);
  ASSERT_TRUE(arena.events->wait_joined(id, bound));
  ASSERT_TRUE(arena.seen->wait(id, bound)) << "the peer process never sent a HEARTBEAT";

  CallOutcome<double> outcome;
  arena.server->send_to(id).async_call<double>(outcome.callback(), "sleep", 10.0, CallOptions{.timeout = 30s});
  ASSERT_EQ(peer->read_line(bound), "sleeping") << "the peer never started the call";
  EXPECT_FALSE(outcome.done());

  const auto signalled_at = Clock::now();
  peer->signal(signal_number);
  ASSERT_TRUE(outcome.wait(bound)) << "the pending call did not fail within 5 s (its timeout is 30 s)";
  const double took = ms_between(signalled_at, outcome.at());
  const auto gone = arena.events->wait_gone(id, bound);
  report("pending_call_failed_ms_" + label, took, gone ? "reason: " + gone->reason : std::string());
  EXPECT_EQ(not_peer_gone(outcome.error()), "");
  // Frozen: (L + 1) x H. Killed: the connection closes, so within one interval as in KilledPeer.
  EXPECT_LE(took, as_ms(signal_number == SIGKILL ? kill_limit : detection_limit));
  ASSERT_TRUE(gone);
  EXPECT_EQ(arena.server->stats().pending_calls, 0u);
  peer->kill_and_reap();
}

// ---- 7. Python-style heartbeats ------------------------------------------------------

// Sends `frames` without waiting; false when the first frame is refused (not connected yet).
bool try_send(zmq::socket_t& socket, const Frames& frames) {
  for (std::size_t i = 0; i < frames.size(); ++i) {
    const int flags = (i + 1 < frames.size() ? ZMQ_SNDMORE : 0) | ZMQ_DONTWAIT;
    if (zmq_send(socket.handle(), frames[i].data(), frames[i].size(), flags) < 0) {
      if (i == 0) return false;
      throw std::runtime_error("zmq_send failed in the middle of a message");
    }
  }
  return true;
}

TEST(PythonPeer, HeartbeatsEvery100MsKeepItAndWhatItGetsIsExactlyHeartbeats) {
  auto events = std::make_shared<PeerEvents>();
  PeerOptions options{.heartbeat = liveness_backend()};
  PeerEvents::attach(events, options);
  Server server("server", options);
  const std::string endpoint = server.bind("tcp://127.0.0.1:*");

  // A Python pseud client: ROUTER, PROBE_ROUTER, ROUTER_MANDATORY; addresses the server by name.
  zmq::context_t context;
  RawSocket python(context, zmq::socket_type::router, "py-client");
  python.socket().set(zmq::sockopt::probe_router, 1);
  python.socket().set(zmq::sockopt::router_mandatory, 1);
  python.socket().connect(endpoint);
  // What it sends, and what a HEARTBEAT from the server must look like here: the same frames.
  const Frames heartbeat{"server", "", V, "", HEARTBEAT, ""};

  int received = 0;
  std::vector<std::string> wrong;
  auto drain_until = [&](Clock::time_point until) {
    while (true) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(until - Clock::now());
      if (left.count() <= 0) return;
      zmq::pollitem_t item{python.socket().handle(), 0, ZMQ_POLLIN, 0};
      if (zmq::poll(&item, 1, left) == 0) return;
      const auto message = python.receive(0ms);
      if (!message) continue;
      ++received;
      if (*message != heartbeat) wrong.push_back(describe(*message));
    }
  };

  ASSERT_TRUE(eventually([&] { return try_send(python.socket(), heartbeat); }, 5000ms))
      << "could not reach the server";
  auto last_sent = Clock::now();
  ASSERT_TRUE(events->wait_joined("py-client", bound));
  // 2 s = 20 intervals of heartbeats every 100 ms, as pseud's test backend sends them.
  for (int i = 0; i < 20; ++i) {
    drain_until(last_sent + interval);  // the pacing interval
    ASSERT_TRUE(try_send(python.socket(), heartbeat));
    last_sent = Clock::now();
  }
  EXPECT_EQ(events->gone_count("py-client"), 0u) << "declared gone while it kept sending heartbeats";
  EXPECT_TRUE(lists(server.connected_peers(), "py-client"));

  // Silence: gone within (L + 1) x H of the last heartbeat.
  std::optional<PeerEvents::Event> gone;
  const auto give_up = Clock::now() + bound;
  while (!gone && Clock::now() < give_up) {
    drain_until(Clock::now() + 10ms);
    gone = events->wait_gone("py-client", 0ms);
  }
  ASSERT_TRUE(gone) << "a peer that stopped heartbeating was not declared gone within 5 s";
  const double took = ms_between(last_sent, gone->at);
  report("python_peer_silent_gone_ms", took, "reason: " + gone->reason);
  EXPECT_LE(took, as_ms(detection_limit));
  drain_until(Clock::now() + interval);  // anything still in flight is checked too

  std::printf("[ measured ] heartbeats received by the Python-style peer: %d\n", received);
  EXPECT_GE(received, 5) << "the server should have pinged a peer it sent nothing else to";
  EXPECT_TRUE(wrong.empty()) << wrong.size() << " messages that are not a HEARTBEAT, first: "
                             << (wrong.empty() ? "" : wrong.front());
}

// ---- 8. REQ peers get replies only ---------------------------------------------------

// A peer speaking ZMTP 3.0 (NULL mechanism) over a plain TCP socket, declaring
// the socket type it is given. Unlike a libzmq REQ socket, which drops what it
// does not expect (and eats it before its next request), it shows every
// message the server sends.
class ZmtpPeer {
 public:
  ZmtpPeer(const std::string& endpoint, const std::string& socket_type) {
    const auto colon = endpoint.rfind(':');
    const int port = std::stoi(endpoint.substr(colon + 1));
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw std::runtime_error("socket: " + std::string(std::strerror(errno)));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
      throw std::runtime_error("connect: " + std::string(std::strerror(errno)));
    }
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

    // Greeting: signature, version 3.0, mechanism NULL, as-server 0, filler.
    std::string greeting(64, '\0');
    greeting[0] = '\xff';
    greeting[9] = '\x7f';
    greeting[10] = 3;
    greeting[11] = 0;
    std::memcpy(greeting.data() + 12, "NULL", 4);
    write_all(greeting);
    const auto until = Clock::now() + bound;
    std::string theirs;
    if (!read_exact(64, until, theirs) || static_cast<unsigned char>(theirs[0]) != 0xff || theirs[10] != 3) {
      throw std::runtime_error("no ZMTP 3 greeting from the server");
    }
    // READY with Socket-Type.
    std::string ready = "\x05READY";
    ready += static_cast<char>(11);
    ready += "Socket-Type";
    ready += std::string("\0\0\0", 3) + static_cast<char>(socket_type.size());
    ready += socket_type;
    write_all(std::string(1, '\x04') + static_cast<char>(ready.size()) + ready);
    bool command = false;
    std::string body;
    if (!read_frame(until, command, body) || !command || body.rfind("\x05READY", 0) != 0) {
      throw std::runtime_error("no READY from the server");
    }
  }
  ZmtpPeer(const ZmtpPeer&) = delete;
  ZmtpPeer& operator=(const ZmtpPeer&) = delete;
  ~ZmtpPeer() {
    if (fd_ >= 0) ::close(fd_);
  }

  void send(const Frames& frames) {
    std::string wire;
    for (std::size_t i = 0; i < frames.size(); ++i) {
      const bool more = i + 1 < frames.size();
      if (frames[i].size() > 255) throw std::runtime_error("ZmtpPeer sends short frames only");
      wire += static_cast<char>(more ? 0x01 : 0x00);
      wire += static_cast<char>(frames[i].size());
      wire += frames[i];
    }
    write_all(wire);
  }

  // The next message (commands skipped), or nullopt at `until` or when the connection ends.
  std::optional<Frames> receive(Clock::time_point until) {
    Frames frames;
    while (true) {
      bool command = false;
      bool more = false;
      std::string body;
      if (!read_frame(until, command, body, &more)) return std::nullopt;
      if (command) continue;
      frames.push_back(std::move(body));
      if (!more) return frames;
    }
  }

 private:
  void write_all(const std::string& bytes) {
    std::size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t n = ::send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) throw std::runtime_error("send: " + std::string(std::strerror(errno)));
      done += static_cast<std::size_t>(n);
    }
  }

  bool read_exact(std::size_t count, Clock::time_point until, std::string& out) {
    out.clear();
    while (out.size() < count) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(until - Clock::now()).count();
      if (left <= 0) return false;
      pollfd item{fd_, POLLIN, 0};
      const int ready = ::poll(&item, 1, static_cast<int>(left));
      if (ready < 0 && errno == EINTR) continue;
      if (ready <= 0) return false;
      char chunk[4096];
      const ssize_t n = ::recv(fd_, chunk, std::min(sizeof chunk, count - out.size()), 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      out.append(chunk, static_cast<std::size_t>(n));
    }
    return true;
  }

  bool read_frame(Clock::time_point until, bool& command, std::string& body, bool* more = nullptr) {
    std::string head;
    if (!read_exact(1, until, head)) return false;
    const auto flags = static_cast<unsigned char>(head[0]);
    command = (flags & 0x04) != 0;
    if (more) *more = (flags & 0x01) != 0;
    std::string size_bytes;
    if (!read_exact((flags & 0x02) ? 8 : 1, until, size_bytes)) return false;
    std::uint64_t size = 0;
    for (const char c : size_bytes) size = (size << 8) | static_cast<unsigned char>(c);
    if (size > (1u << 20)) return false;
    return read_exact(static_cast<std::size_t>(size), until, body);
  }

  int fd_ = -1;
};


class SocketTypePeer : public ::testing::TestWithParam<std::string> {};

// DEALER is the control: the same raw peer does see the server's pings when
// it is not a REQ, so their absence for the REQ is meaningful.
INSTANTIATE_TEST_SUITE_P(Heartbeats, SocketTypePeer, ::testing::Values("REQ", "DEALER"));

TEST_P(SocketTypePeer, GetsOneReplyAndPingsOnlyIfNotReq) {
  const std::string socket_type = GetParam();
  auto events = std::make_shared<PeerEvents>();
  PeerOptions options{.heartbeat = liveness_backend()};
  PeerEvents::attach(events, options);
  Server server("server", options);
  server.register_rpc("add", [](int a, int b) { return a + b; });
  ZmtpPeer peer(server.bind("tcp://127.0.0.1:*"), socket_type);

  const std::string id = "req-message-id-1";  // 16 bytes, like a uuid4
  peer.send({"", V, id, WORK, work_body("add", 1, 2)});
  const auto reply = peer.receive(Clock::now() + bound);
  ASSERT_TRUE(reply) << "no reply to a valid WORK";
  EXPECT_EQ(*reply, (Frames{"", V, id, OK, std::string(1, '\x03')})) << describe(*reply);

  // Six intervals of listening (the server sweeps every 50 ms and pings a peer idle for 100 ms).
  std::vector<Frames> after;
  const auto until = Clock::now() + interval * 6;
  while (auto message = peer.receive(until)) after.push_back(std::move(*message));
  if (socket_type == "REQ") {
    EXPECT_TRUE(after.empty()) << "a REQ peer got " << after.size()
                               << " unsolicited messages after its reply, first: " << describe(after.front());
  } else {
    EXPECT_GE(after.size(), 3u) << "the control peer got too few pings";
    for (const auto& message : after) EXPECT_EQ(message, heartbeat_frames) << describe(message);
  }
  std::printf("[ measured ] messages a %s peer got in the 600 ms after its reply: %zu\n", socket_type.c_str(),
              after.size());
  EXPECT_EQ(server.connected_peers().size(), 1u);
  EXPECT_EQ(events->total_gone(), 0u);
}

// ---- 9. the client role: its server frozen or killed -----------------------------

class ServerProcess : public ::testing::TestWithParam<int> {};

INSTANTIATE_TEST_SUITE_P(Heartbeats, ServerProcess, ::testing::Values(SIGSTOP, SIGKILL),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return std::string(info.param == SIGSTOP ? "Frozen" : "Killed");
                         });

TEST_P(ServerProcess, ClientDeclaresItsServerGoneAndItsPendingCallFails) {
  const int signal_number = GetParam();
  const std::string label = signal_number == SIGSTOP ? "frozen" : "killed";
  ChildProcess server(server_process_path(),
                      {"--heartbeat", "liveness", "--interval-ms", std::to_string(interval.count()), "--liveness",
                       std::to_string(liveness)},
                      helper_options);
  const auto endpoint = server.read_line(bound);
  ASSERT_TRUE(endpoint && endpoint->rfind("tcp://", 0) == 0) << "server_process printed no endpoint";

  auto events = std::make_shared<PeerEvents>();
  auto seen = std::make_shared<HeartbeatsSeen>();
  PeerOptions options{.heartbeat = observed_liveness(seen), .routing_id = "client-of-" + label};
  PeerEvents::attach(events, options);
  Client client("server", options);
  client.connect(*endpoint);
  ASSERT_EQ(client.call<std::string>("ping"), "pong");
  ASSERT_TRUE(events->wait_joined("server", bound));
  ASSERT_TRUE(seen->wait("server", bound)) << "the server process never sent a HEARTBEAT";

  CallOutcome<double> outcome;
  client.async_call<double>(outcome.callback(), "sleep", 10.0, CallOptions{.timeout = 30s});
  ASSERT_EQ(server.read_line(bound), "sleeping") << "the server never started the call";

  const auto signalled_at = Clock::now();
  server.signal(signal_number);
  const auto gone = events->wait_gone("server", bound);
  ASSERT_TRUE(gone) << "the client never declared its " << label << " server gone";
  const double gone_ms = ms_between(signalled_at, gone->at);
  report("client_side_server_gone_ms_" + label, gone_ms, "reason: " + gone->reason);
  EXPECT_LE(gone_ms, as_ms(signal_number == SIGKILL ? kill_limit : detection_limit));
  ASSERT_TRUE(outcome.wait(bound)) << "the pending call did not fail within 5 s (its timeout is 30 s)";
  const double failed_ms = ms_between(signalled_at, outcome.at());
  report("client_side_pending_call_failed_ms_" + label, failed_ms);
  EXPECT_EQ(not_peer_gone(outcome.error()), "");
  EXPECT_LE(failed_ms, as_ms(signal_number == SIGKILL ? kill_limit : detection_limit));
  EXPECT_FALSE(lists(client.connected_peers(), "server"));
  EXPECT_EQ(client.stats().pending_calls, 0u);
  server.kill_and_reap();
}

// Optional diagnostics: PSEUD_TEST_LOG=1 prints the library's log on stderr.
const bool log_installed = [] {
  if (const char* value = std::getenv("PSEUD_TEST_LOG"); value && *value == '1') {
    set_log_handler(
        [](LogLevel level, std::string_view message) {
          std::fprintf(stderr, "[pseud %s] %.*s\n", std::string(log_level_name(level)).c_str(),
                       static_cast<int>(message.size()), message.data());
        },
        LogLevel::debug);
  }
  return true;
}();

}  // namespace
}  // namespace pseud::test
