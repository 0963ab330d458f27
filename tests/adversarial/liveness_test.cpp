// Issue 9, rows 7-9: liveness and fairness.
//   7: connections that never speak are closed (before the handshake by
//      libzmq's handshake interval; after it, with liveness on, once they
//      have said nothing for the handshake interval plus the silence limit);
//   8: the malformed limit never closes an innocent connection that reused
//      an offender's descriptor number;
//   9: a peer sending slow 4 MiB messages cannot keep the engine from its
//      heartbeats: an honest client with liveness 200 ms never thinks the
//      server gone.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <future>

#include <gtest/gtest.h>

#include "attack_bodies.hpp"
#include "fault_support.hpp"
#include "frame_bytes.hpp"
#include "pseud/pseud.hpp"
#include "test_support.hpp"

namespace pseud::test {
namespace {

using namespace std::chrono_literals;
using faults::figure;
using faults::ms_between;
using Clock = std::chrono::steady_clock;

using namespace frame_bytes;

BackendChoice liveness(int interval_ms, int misses) {
  return {"liveness", {{"interval_ms", std::to_string(interval_ms)}, {"liveness", std::to_string(misses)}}};
}

int tcp_port(const std::string& endpoint) { return std::stoi(endpoint.substr(endpoint.rfind(':') + 1)); }

// A plain TCP connection to 127.0.0.1:port that sends nothing; -1 on failure.
int silent_tcp_connection(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Whether the server closed `fd` within `limit` (anything it sent is read and ignored).
bool closed_by_peer_within(int fd, Clock::time_point limit) {
  char buffer[256];
  while (Clock::now() < limit) {
    pollfd waiting{fd, POLLIN, 0};
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(limit - Clock::now()).count();
    if (::poll(&waiting, 1, static_cast<int>(std::max<long>(left, 1))) <= 0) continue;
    const auto got = ::recv(fd, buffer, sizeof buffer, 0);
    if (got <= 0) return true;
  }
  return false;
}

// ---- row 7 ------------------------------------------------------------------------------

TEST(Silent, ConnectionsThatNeverStartTheHandshakeAreClosedAfterTheHandshakeInterval) {
  Server server("server", PeerOptions{.handshake_timeout = 500ms});
  const int port = tcp_port(server.bind("tcp://127.0.0.1:*"));
  constexpr int count = 50;
  std::vector<int> fds;
  for (int i = 0; i < count; ++i) {
    const int fd = silent_tcp_connection(port);
    ASSERT_GE(fd, 0);
    fds.push_back(fd);
  }
  const auto started = Clock::now();
  int closed = 0;
  for (const int fd : fds) {
    closed += closed_by_peer_within(fd, started + 3s * faults::latency_factor()) ? 1 : 0;
    ::close(fd);
  }
  const double took = ms_between(started, Clock::now());
  EXPECT_EQ(closed, count);
  EXPECT_LT(took, 2000.0 * faults::latency_factor());
  figure("silent: %d of %d connections that never spoke ZMTP were closed within %.0f ms (handshake_timeout 500 ms)",
         closed, count, took);
}

TEST(Silent, ConnectionsThatFinishTheHandshakeAndNeverSpeakAreClosedWithLivenessOn) {
  auto context = std::make_shared<zmq::context_t>();
  Server server("server", PeerOptions{.heartbeat = liveness(200, 3), .handshake_timeout = 500ms,
                                      .parent_registry = nullptr, .context = context});
  server.register_rpc("ping", [] { return 1; });
  const std::string endpoint = server.bind("tcp://127.0.0.1:*");
  // An honest client that speaks (pseud++ announces itself on connect) and idles.
  Client honest("server", PeerOptions{.context = context});
  honest.connect(endpoint);
  ASSERT_EQ(honest.call<int>("ping"), 1);

  constexpr int count = 200;
  std::vector<std::unique_ptr<zmq::socket_t>> mute;
  for (int i = 0; i < count; ++i) {
    auto socket = std::make_unique<zmq::socket_t>(*context, zmq::socket_type::dealer);
    socket->set(zmq::sockopt::linger, 0);
    socket->set(zmq::sockopt::reconnect_ivl, -1);  // once closed, stay closed
    socket->connect(endpoint);
    mute.push_back(std::move(socket));
  }
  const auto started = Clock::now();
  // handshake_timeout + liveness window (500 + 600 ms), plus a sweep.
  const bool all = eventually([&] { return server.stats().silent_connections_cut >= count; }, 5000ms * faults::latency_factor());
  const double took = ms_between(started, Clock::now());
  EXPECT_TRUE(all) << "closed " << server.stats().silent_connections_cut << " of " << count;
  EXPECT_LT(took, 3000.0 * faults::latency_factor());
  // The honest client was left alone.
  EXPECT_EQ(honest.call<int>("ping"), 1);
  EXPECT_EQ(server.connected_peers().size(), 1u);
  figure("silent: %llu of %d connections that finished the handshake and never spoke were closed within %.0f ms "
         "(liveness 200 ms x 3, handshake_timeout 500 ms); the idle honest client kept its connection",
         static_cast<unsigned long long>(server.stats().silent_connections_cut), count, took);
}

// ---- row 8 ------------------------------------------------------------------------------

// The offender, a process of its own (so that only the server holds
// descriptors in this process, and its closed one is the next one reused):
// a WORK that holds the server's engine, then malformed messages, then gone.
const char* offender_script = R"(
import sys, zmq
endpoint, count = sys.argv[1], int(sys.argv[2])
context = zmq.Context()
socket = context.socket(zmq.DEALER)
socket.setsockopt(zmq.LINGER, 5000)
socket.connect(endpoint)
socket.send_multipart([b"", b"v1", b"stall-0000000001", b"\x03", b"\x93\xa5stall\x90\x80"])
for i in range(count):
    socket.send_multipart([b"", b"v1", b"bad-%012d" % i, b"\x03", b"\xc1"])
socket.close()
context.term()
print("sent", flush=True)
)";

bool python_zmq_available() {
  const auto result = faults::run_command({"/usr/bin/python3", "-c", "import zmq"}, 10000ms);
  return result.status == 0;
}

TEST(MalformedLimitReuse, AnInnocentConnectionOnAReusedDescriptorIsNeverCut) {
  if (!python_zmq_available()) GTEST_SKIP() << "/usr/bin/python3 lacks zmq (Debian's python3-zmq)";
  Server server("server", PeerOptions{.malformed_limit = 100});
  server.register_rpc("stall", [] {
    std::this_thread::sleep_for(300ms);  // on the engine thread: the offender's messages wait behind it
    return 0;
  });
  server.register_rpc("ping", [] { return std::string("pong"); });
  server.register_rpc("echo", [](const std::string& text) { return text; });
  const std::string endpoint = server.bind("tcp://127.0.0.1:*");

  test::ChildProcess offender("/usr/bin/python3", {"-c", offender_script, endpoint, "300"}, faults::fault_peer_options);
  ASSERT_TRUE(faults::read_until(offender, "sent", 10000ms)) << "the offender did not send";
  // The offender has gone; the innocent connects while the engine still stalls.
  test::ChildProcess innocent(faults::fault_peer_path(), {"client", endpoint}, faults::fault_peer_options);
  ASSERT_TRUE(faults::read_until(innocent, "ready", 10000ms)) << "the innocent client never got its first reply";
  ASSERT_TRUE(innocent.write("call one - echo still-here 3000\n", 2000ms));
  const auto answer = faults::read_until(innocent, "result one", 5000ms);
  EXPECT_TRUE(answer) << "the innocent client's call was not answered";
  const PeerStats stats = server.stats();
  EXPECT_EQ(stats.connections_cut, 0u) << "a connection was cut though the offender had already left";
  figure("malformed reuse: offender sent 300 malformed messages and left while the engine stalled 300 ms; "
         "innocent client answered: %s; connections cut: %llu; offender's messages counted %llu, dropped unread %llu",
         answer ? "yes" : "no", static_cast<unsigned long long>(stats.connections_cut),
         static_cast<unsigned long long>(stats.malformed_messages),
         static_cast<unsigned long long>(stats.dropped_after_cut));
}

// ---- row 9 ------------------------------------------------------------------------------

TEST(Fairness, SlowMessagesFromOnePeerNeverMakeAnHonestClientThinkTheServerGone) {
  auto context = std::make_shared<zmq::context_t>();
  Server server("server", PeerOptions{.heartbeat = liveness(200, 3), .parent_registry = nullptr, .context = context});
  server.register_rpc("ping", [] { return 1; });
  server.register_rpc("sink", [](const Args& args) { return static_cast<int>(args.size()); });
  const std::string endpoint = server.bind("tcp://127.0.0.1:*");

  std::atomic<int> gone{0};
  Client honest("server", PeerOptions{.heartbeat = liveness(200, 3),
                                      .on_peer_gone = [&gone](const PeerInfo&, const std::string&) { ++gone; },
                                      .context = context});
  honest.connect(endpoint);
  ASSERT_EQ(honest.call<int>("ping"), 1);

  // Sanitizer builds decode several times slower: smaller messages keep the attack as long.
  const std::size_t size = faults::slow_build() ? 1024 * 1024 : 4 * 1024 * 1024 - 4096;
  const int messages = faults::thread_sanitizer() ? 10 : 40;
  const std::string body = slow_work_body("sink", size);
  RawSocket attacker(*context, zmq::socket_type::dealer);
  attacker.socket().connect(endpoint);
  const auto started = Clock::now();
  for (int i = 0; i < messages; ++i) attacker.send({"", V, "slow-" + std::to_string(1000000 + i), WORK, body});

  // The honest client calls throughout, and must never lose the server.
  std::vector<double> latencies;
  int answered = 0;
  while (server.stats().requests_handled < static_cast<std::uint64_t>(messages) + 1 && Clock::now() < started + 60s) {
    const auto sent = Clock::now();
    try {
      honest.call<int>("ping", CallOptions{.timeout = 10s});
      ++answered;
      latencies.push_back(ms_between(sent, Clock::now()));
    } catch (const Error& e) {
      ADD_FAILURE() << "honest call failed: " << e.what();
      break;
    }
  }
  const double attack_ms = ms_between(started, Clock::now());
  std::sort(latencies.begin(), latencies.end());
  const double worst = latencies.empty() ? 0.0 : latencies.back();
  EXPECT_EQ(gone.load(), 0) << "the honest client declared the server gone";
  EXPECT_GE(server.stats().requests_handled, static_cast<std::uint64_t>(messages));
  figure("fairness: %d WORKs of %zu bytes (slow to decode) took the server %.0f ms (%llu refused with "
         "OverloadedError); the honest client (liveness 200 ms x 3) saw the server gone %d times; %d honest calls, "
         "slowest %.1f ms",
         messages, size, attack_ms, static_cast<unsigned long long>(server.stats().overloaded_requests), gone.load(),
         answered, worst);
}

}  // namespace
}  // namespace pseud::test
