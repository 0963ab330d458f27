// pseud.health: "SERVING" or "NOT_SERVING" for the peer as a whole (""), its
// own name, or a service the application declared with set_health; anything
// else is ServiceNotFoundError. A Python pseud caller gets a plain str.

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

#include <gtest/gtest.h>

#include "frame_bytes.hpp"
#include "pseud/pseud.hpp"
#include "test_support.hpp"

namespace pseud::test {
namespace {

using namespace frame_bytes;
using Clock = std::chrono::steady_clock;

struct Fixture {
  Fixture() {
    endpoint = server.bind("tcp://127.0.0.1:*");
    client.connect(endpoint);
  }
  std::string health(const std::string& service) {
    return client.call<std::string>(health_function, service, CallOptions{.timeout = bound});
  }
  Server server{"server"};
  Client client{"server", PeerOptions{.routing_id = "client-1"}};
  std::string endpoint;
};

TEST(Health, ThePeerAsAWholeAndItsNameServe) {
  Fixture f;
  EXPECT_EQ(f.client.call<std::string>(health_function, CallOptions{.timeout = bound}), "SERVING");
  EXPECT_EQ(f.health(""), "SERVING");
  EXPECT_EQ(f.health("server"), "SERVING");
  EXPECT_EQ(f.client.call<std::string>(health_function, kw("service", "server"), CallOptions{.timeout = bound}),
            "SERVING");
  EXPECT_TRUE(f.server.health());
  EXPECT_TRUE(f.server.health("server"));
  // A client answers too, for itself and under its routing id.
  Target client = f.server.send_to("client-1");
  EXPECT_EQ(client.call<std::string>(health_function, CallOptions{.timeout = bound}), "SERVING");
  EXPECT_EQ(client.call<std::string>(health_function, "client-1", CallOptions{.timeout = bound}), "SERVING");
}

TEST(Health, AnUnknownServiceIsNotFound) {
  Fixture f;
  try {
    f.health("no-such-service");
    FAIL() << "expected ServiceNotFoundError";
  } catch (const ServiceNotFoundError& e) {
    EXPECT_NE(e.message().find("no-such-service"), std::string::npos) << e.what();
  }
  EXPECT_THROW((void)f.server.health("no-such-service"), ServiceNotFoundError);
  // Bad arguments are the caller's problem, as for any function.
  EXPECT_THROW(f.client.call<std::string>(health_function, 42, CallOptions{.timeout = bound}), RemoteError);
}

TEST(Health, DeclaredServicesAndThePeerAsAWhole) {
  Fixture f;
  f.server.set_health("db", false);
  f.server.set_health("cache", true);
  EXPECT_EQ(f.health("db"), "NOT_SERVING");
  EXPECT_EQ(f.health("cache"), "SERVING");
  EXPECT_FALSE(f.server.health("db"));
  f.server.set_health("db", true);
  EXPECT_EQ(f.health("db"), "SERVING");

  f.server.set_health("", false);  // maintenance: nothing serves
  EXPECT_EQ(f.health(""), "NOT_SERVING");
  EXPECT_EQ(f.health("server"), "NOT_SERVING");
  EXPECT_EQ(f.health("db"), "NOT_SERVING");
  EXPECT_FALSE(f.server.health());
  // Calls still run: health is what the peer says, not a refusal.
  f.server.register_rpc("add", [](int a, int b) { return a + b; });
  EXPECT_EQ(f.client.call<int>("add", 1, 2, CallOptions{.timeout = bound}), 3);
  f.server.set_health("", true);
  EXPECT_EQ(f.health("cache"), "SERVING");
  std::printf("[figure] health: '' / own name / declared up / declared down / unknown -> SERVING / SERVING / "
              "SERVING / NOT_SERVING / ServiceNotFoundError\n");
}

TEST(Health, NamesAreBounded) {
  Fixture f;
  EXPECT_THROW(f.server.set_health(std::string(256, 'x'), true), UsageError);
  f.server.set_health(std::string(255, 'x'), true);
  EXPECT_EQ(f.health(std::string(255, 'x')), "SERVING");
  for (int i = 1; i < 1024; ++i) f.server.set_health("service-" + std::to_string(i), true);
  EXPECT_THROW(f.server.set_health("one-too-many", true), UsageError);
  EXPECT_THROW(f.health("one-too-many"), ServiceNotFoundError);
}

TEST(Health, InspectListsIt) {
  Fixture f;
  const auto listing = f.client.call<msgpack::object_handle>(introspection_function, CallOptions{.timeout = bound});
  std::ostringstream all;
  all << listing.get();
  EXPECT_NE(all.str().find(R"({"name":"pseud.health","doc":"Says whether service ('': this peer as a whole) is )"
                           R"(SERVING or NOT_SERVING.","params":[{"name":"service","type":"str","default":""}],)"
                           R"("args":false,"kwargs":false})"),
            std::string::npos)
      << all.str();
}

TEST(Health, ItIsCheap) {
  Fixture f;
  (void)f.health("");
  constexpr int rounds = 2000;
  const auto start = Clock::now();
  for (int i = 0; i < rounds; ++i) ASSERT_EQ(f.health(""), "SERVING");
  const double us = std::chrono::duration<double, std::micro>(Clock::now() - start).count() / rounds;
  std::printf("[figure] pseud.health round trip (tcp loopback, sync client): %.1f us mean over %d calls\n", us, rounds);
  EXPECT_LT(us, 5000.0);
}

// Sends until the route to "server" is up (ROUTER_MANDATORY refuses before).
bool send_when_routable(RawSocket& raw, const Frames& frames) {
  return eventually([&] {
    try {
      raw.send(frames);
      return true;
    } catch (const zmq::error_t& e) {
      if (e.num() != EHOSTUNREACH) throw;
      return false;
    }
  });
}

TEST(Health, OnTheWireTheAnswerIsAPlainString) {
  Fixture f;
  f.server.set_health("db", false);
  zmq::context_t context;
  RawSocket raw(context, zmq::socket_type::router, "raw-client");
  raw.socket().set(zmq::sockopt::probe_router, 1);
  raw.socket().set(zmq::sockopt::router_mandatory, 1);
  raw.socket().connect(f.endpoint);
  const auto body = [](const auto&... args) {
    const auto call = detail::pack_call("", health_function, args...);
    return std::string(call.body.data(), call.body.size());
  };
  ASSERT_TRUE(send_when_routable(raw, {"server", "", V, "h1", WORK, body()}));
  auto reply = raw.receive();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(*reply, (Frames{"server", "", V, "h1", OK, "\xa7SERVING"}));
  raw.send({"server", "", V, "h2", WORK, body(std::string("db"))});
  reply = raw.receive();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(*reply, (Frames{"server", "", V, "h2", OK, "\xabNOT_SERVING"}));
}

// A Python pseud v1 client (pyzmq ROUTER, msgpack with raw=False, as pseud
// reads replies): the answer is a str; an unknown service an ERROR.
constexpr const char* python_client = R"(
import sys, time, zmq, msgpack
socket = zmq.Context.instance().socket(zmq.ROUTER)
for option, value in ((zmq.IDENTITY, b"py-client"), (zmq.PROBE_ROUTER, 1), (zmq.ROUTER_MANDATORY, 1),
                      (zmq.LINGER, 0), (zmq.RCVTIMEO, 5000)):
    socket.setsockopt(option, value)
socket.connect(sys.argv[1])
def call(id, *args):
    body = msgpack.packb(["pseud.health", list(args), {}], use_bin_type=True)
    give_up = time.monotonic() + 5
    while True:
        try:
            socket.send_multipart([b"server", b"", b"v1", id, b"\x03", body])
            break
        except zmq.ZMQError:
            if time.monotonic() > give_up:
                raise
            time.sleep(0.01)
    frames = socket.recv_multipart()
    value = msgpack.unpackb(frames[5], raw=False)
    kind = "OK" if frames[4] == b"\x01" else "ERROR"
    print(kind, type(value).__name__, value if kind == "OK" else value[0])
call(b"p1")
call(b"p2", "db")
call(b"p3", "nope")
)";

TEST(Health, APythonPseudClientGetsAStr) {
  if (std::system("/usr/bin/python3 -c 'import zmq, msgpack' 2>/dev/null") != 0) {
    GTEST_SKIP() << "needs /usr/bin/python3 with python3-zmq and python3-msgpack";
  }
  Fixture f;
  f.server.set_health("db", false);
  const std::string script = ::testing::TempDir() + "pseud_health_client.py";
  std::ofstream(script) << python_client;
  const std::string command = "timeout 20 /usr/bin/python3 " + script + " " + f.endpoint;
  FILE* out = ::popen(command.c_str(), "r");
  ASSERT_NE(out, nullptr);
  std::string lines;
  char buffer[256];
  while (std::fgets(buffer, sizeof buffer, out)) lines += buffer;
  EXPECT_EQ(::pclose(out), 0) << lines;
  EXPECT_EQ(lines, "OK str SERVING\nOK str NOT_SERVING\nERROR list ServiceNotFoundError\n");
  std::string one_line = lines;
  for (char& c : one_line) c = c == '\n' ? ';' : c;
  std::printf("[figure] Python pseud-style client (pyzmq + msgpack raw=False): %s\n", one_line.c_str());
}

}  // namespace
}  // namespace pseud::test
