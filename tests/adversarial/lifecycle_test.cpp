// Issue 9, row 10 and the smaller findings beside it: binding never deletes
// a file that is not a socket; stop() returns within a second whatever is
// queued; a server that died mid-handshake and came back is a reconnection,
// not a key mismatch; IPv6 endpoints work; a client started before its
// server waits for it (or fails fast when told to); a deadline's timeout
// names the deadline; a REQ socket's malformed request is answered.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <future>

#include <gtest/gtest.h>

#include "fault_support.hpp"
#include "frame_bytes.hpp"
#include "pseud/pseud.hpp"
#include "refusing_port.hpp"
#include "test_support.hpp"

namespace pseud::test {
namespace {

using namespace std::chrono_literals;
using faults::figure;
using faults::ms_between;
using Clock = std::chrono::steady_clock;

using namespace frame_bytes;

std::string temp_path(const std::string& stem) {
  return "/tmp/pseud-lifecycle-" + std::to_string(::getpid()) + "-" + stem;
}

// ---- ipc paths -----------------------------------------------------------------------

TEST(Lifecycle, BindingAnIpcPathThatIsARegularFileIsRefusedAndTheFileKept) {
  const std::string path = temp_path("regular");
  {
    std::ofstream file(path);
    file << "precious";
  }
  Server server("server", PeerOptions{});
  try {
    server.bind("ipc://" + path);
    ADD_FAILURE() << "bind succeeded";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("not a socket"), std::string::npos) << e.what();
  }
  std::ifstream file(path);
  std::string content;
  file >> content;
  EXPECT_EQ(content, "precious");
  std::remove(path.c_str());
}

TEST(Lifecycle, AStaleIpcSocketIsReplaced) {
  const std::string path = temp_path("stale");
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::snprintf(address.sun_path, sizeof address.sun_path, "%s", path.c_str());
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ::close(fd);  // leaves the socket file behind, as a crashed server would
  Server server("server", PeerOptions{});
  server.register_rpc("ping", [] { return 1; });
  const std::string endpoint = server.bind("ipc://" + path);
  Client client("server", PeerOptions{});
  client.connect(endpoint);
  EXPECT_EQ(client.call<int>("ping"), 1);
  std::remove(path.c_str());
}

// ---- stop() with a backlog ----------------------------------------------------------

TEST(Lifecycle, StopReturnsWithinASecondWithABacklogOfSlowRequests) {
  auto context = std::make_shared<zmq::context_t>();
  Server server("server", PeerOptions{.parent_registry = nullptr, .context = context});
  std::atomic<int> handled{0};
  server.register_rpc("slow", [&handled](int, int) {
    std::this_thread::sleep_for(5ms);  // on the engine thread: each request holds it
    return ++handled;
  });
  const std::string endpoint = server.bind("tcp://127.0.0.1:*");
  RawSocket flood(*context, zmq::socket_type::dealer);
  flood.socket().connect(endpoint);
  for (int i = 0; i < 2000; ++i) flood.send({"", V, "backlog-" + std::to_string(100000 + i), WORK, work_body("slow", 1, 2)});
  ASSERT_TRUE(eventually([&] { return handled.load() >= 10; }));
  const auto started = Clock::now();
  server.stop();
  const double took = ms_between(started, Clock::now());
  EXPECT_LT(took, 1000.0 * faults::latency_factor());
  figure("lifecycle: stop() with %d of 2000 slow requests handled took %.1f ms (bound 1000 ms)", handled.load(), took);
}

TEST(Lifecycle, StopReturnsWithinASecondWhileBlockingHandlersRun) {
  auto context = std::make_shared<zmq::context_t>();
  Server server("server", PeerOptions{.parent_registry = nullptr, .context = context});
  std::mutex mutex;
  std::condition_variable released;
  bool release = false;
  std::atomic<int> running{0};
  server.register_rpc("hold", [&](int, int) {
    ++running;
    std::unique_lock lock(mutex);
    released.wait_for(lock, 30s, [&] { return release; });
    return 0;
  }, {.blocking = true});
  const std::string endpoint = server.bind("tcp://127.0.0.1:*");
  RawSocket flood(*context, zmq::socket_type::dealer);
  flood.socket().connect(endpoint);
  for (int i = 0; i < 300; ++i) flood.send({"", V, "hold-" + std::to_string(100000 + i), WORK, work_body("hold", 1, 2)});
  ASSERT_TRUE(eventually([&] { return running.load() >= 4; }));
  const auto started = Clock::now();
  server.stop();
  const double took = ms_between(started, Clock::now());
  EXPECT_LT(took, 1000.0 * faults::latency_factor());
  figure("lifecycle: stop() with 4 blocking handlers running and 296 queued took %.1f ms (bound 1000 ms)", took);
  {
    std::lock_guard lock(mutex);
    release = true;
  }
  released.notify_all();
}

// ---- a server gone mid-handshake, then back ----------------------------------------

TEST(Lifecycle, AServerThatDiedMidHandshakeAndCameBackIsJustAReconnection) {
  const CurveKeyPair server_keys = generate_curve_keypair();
  const CurveKeyPair client_keys = generate_curve_keypair();
  // A listener that accepts the client's first connection and drops it, as a
  // server killed in the middle of the handshake would.
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  const int yes = 1;
  ::setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(::listen(listener, 4), 0);
  ASSERT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length), 0);
  const int port = ntohs(address.sin_port);
  const std::string endpoint = "tcp://127.0.0.1:" + std::to_string(port);

  PeerOptions client_options;
  client_options.auth = {"trusted_curve", {{"server_public_key", server_keys.public_key},
                                           {"public_key", client_keys.public_key},
                                           {"secret_key", client_keys.secret_key}}};
  Client client("server", client_options);
  client.connect(endpoint);
  auto answer = client.async_call<int>("ping", CallOptions{.timeout = 5s});

  pollfd waiting{listener, POLLIN, 0};
  ASSERT_EQ(::poll(&waiting, 1, 5000), 1) << "the client never connected";
  const int accepted = ::accept(listener, nullptr, nullptr);
  ASSERT_GE(accepted, 0);
  char greeting[64];
  (void)::recv(accepted, greeting, sizeof greeting, 0);  // the handshake has begun
  ::close(accepted);
  ::close(listener);

  PeerOptions server_options;
  server_options.auth = {"trusted_curve", {{"secret_key", server_keys.secret_key},
                                           {"trust", "client=" + client_keys.public_key}}};
  Server server("server", server_options);
  server.register_rpc("ping", [] { return 7; });
  server.bind(endpoint);
  const auto started = Clock::now();
  try {
    EXPECT_EQ(get_within(answer, 5000ms), 7);
  } catch (const HandshakeError& e) {
    ADD_FAILURE() << "reported as a handshake failure: " << e.what();
  }
  figure("lifecycle: a call made while the server died mid-handshake was answered %.1f ms after it came back",
         ms_between(started, Clock::now()));
}

// ---- IPv6 ------------------------------------------------------------------------------

bool ipv6_loopback_available() {
  const int fd = ::socket(AF_INET6, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in6 address{};
  address.sin6_family = AF_INET6;
  address.sin6_addr = in6addr_loopback;
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  ::close(fd);
  return ok;
}

TEST(Lifecycle, IPv6EndpointsWork) {
  if (!ipv6_loopback_available()) GTEST_SKIP() << "this machine has no IPv6 loopback";
  Server server("server", PeerOptions{});
  server.register_rpc("ping", [] { return 6; });
  const std::string endpoint = server.bind("tcp://[::1]:*");
  EXPECT_NE(endpoint.find("[::1]"), std::string::npos) << endpoint;
  Client client("server", PeerOptions{});
  client.connect(endpoint);
  EXPECT_EQ(client.call<int>("ping"), 6);
  // IPv4 endpoints are unaffected on the same peers.
  const std::string v4 = server.bind("tcp://127.0.0.1:*");
  Client other("server", PeerOptions{});
  other.connect(v4);
  EXPECT_EQ(other.call<int>("ping"), 6);
}

// ---- a client started before its server ----------------------------------------------

TEST(Lifecycle, AClientStartedBeforeItsServerWaitsForIt) {
  const std::string endpoint = RefusingPort().endpoint();  // released at once, for the server to bind
  Client client("server", PeerOptions{});
  client.connect(endpoint);
  auto answer = client.async_call<int>("ping", CallOptions{.timeout = 5s});
  // Nothing listens yet: the call must still be waiting, not failed.
  EXPECT_EQ(answer.wait_for(300ms), std::future_status::timeout);
  Server server("server", PeerOptions{});
  server.register_rpc("ping", [] { return 5; });
  server.bind(endpoint);
  const auto started = Clock::now();
  EXPECT_EQ(get_within(answer, 3000ms), 5);
  figure("lifecycle: a call made 300 ms before its server existed was answered %.1f ms after the bind",
         ms_between(started, Clock::now()));
}

TEST(Lifecycle, FailFastFailsAtOnceWhenNothingListens) {
  const RefusingPort refusing;
  Client client("server", PeerOptions{.fail_fast = true});
  client.connect(refusing.endpoint());
  const auto started = Clock::now();
  EXPECT_THROW(client.call<int>("ping", CallOptions{.timeout = 5s}), PeerUnreachableError);
  EXPECT_LT(ms_between(started, Clock::now()), 1000.0 * faults::latency_factor());
}

// ---- the deadline's timeout message --------------------------------------------------

TEST(Lifecycle, ADeadlinesTimeoutNamesTheDeadline) {
  Server server("server", PeerOptions{});
  server.register_rpc("nap", [] {
    std::this_thread::sleep_for(400ms);
    return 0;
  }, {.blocking = true});
  const std::string endpoint = server.bind("tcp://127.0.0.1:*");
  Client client("server", PeerOptions{});
  client.connect(endpoint);
  try {
    client.call<int>("nap", CallOptions{.deadline = Clock::now() + 100ms});
    ADD_FAILURE() << "no timeout";
  } catch (const TimeoutError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("deadline"), std::string::npos) << message;
    EXPECT_EQ(message.find("5000"), std::string::npos) << message;
  }
}

// ---- a REQ socket's malformed request ------------------------------------------------

TEST(Lifecycle, AReqSocketsTwoFrameRequestIsAnsweredOnce) {
  auto context = std::make_shared<zmq::context_t>();
  Server server("server", PeerOptions{.parent_registry = nullptr, .context = context});
  server.register_rpc("add", [](int a, int b) { return a + b; });
  const std::string endpoint = server.bind("tcp://127.0.0.1:*");
  RawSocket req(*context, zmq::socket_type::req);
  req.socket().connect(endpoint);
  req.send({"hello", "there"});
  const auto reply = req.receive(2000ms);
  ASSERT_TRUE(reply) << "the REQ socket was never answered";
  ASSERT_EQ(reply->size(), 4u);
  EXPECT_EQ((*reply)[0], V);
  EXPECT_EQ((*reply)[2], ERROR_TYPE);
  // Answered once: the REQ socket may ask again, and is served.
  req.send({V, "req-call-000001", WORK, work_body("add", 2, 3)});
  const auto second = req.receive(2000ms);
  ASSERT_TRUE(second);
  ASSERT_EQ(second->size(), 4u);
  EXPECT_EQ((*second)[2], OK);
}

}  // namespace
}  // namespace pseud::test
