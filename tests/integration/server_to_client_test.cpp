// A server calling its clients back: by chosen routing id, by the routing id
// learned from a request, from inside a handler, and to a client that left.

#include <gtest/gtest.h>

#include "pseud/pseud.hpp"
#include "test_support.hpp"

namespace pseud::test {
namespace {

class ServerToClient : public ::testing::Test {
 protected:
  void SetUp() override {
    endpoint_ = server_.bind("tcp://127.0.0.1:*");
    server_.register_rpc("ping", [] { return std::string("pong"); });
  }

  Server server_{"server"};
  std::string endpoint_;
};

TEST_F(ServerToClient, CallsAClientByItsChosenRoutingId) {
  Client client("server", {.routing_id = "worker-1"});
  client.register_rpc("double", [](int v) { return 2 * v; });
  client.connect(endpoint_);
  ASSERT_EQ(client.call<std::string>("ping"), "pong");  // the connection is up
  EXPECT_EQ(server_.send_to("worker-1").call<int>("double", 21), 42);
}

TEST_F(ServerToClient, CallsAnAnonymousClientByTheIdentityItCalledFrom) {
  std::promise<std::string> seen;
  server_.register_rpc("hello", [&seen](const std::string& identity) { seen.set_value(identity); },
                       {.with_identity = true});
  Client client("server");
  client.register_rpc("string.upper", [](std::string s) {
    for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
  });
  client.connect(endpoint_);
  client.call<void>("hello");
  auto identity_future = seen.get_future();
  const std::string identity = get_within(identity_future);
  EXPECT_EQ(identity.size(), 5u);  // libzmq's generated id: 0x00 + 4 bytes
  EXPECT_EQ(identity[0], '\0');
  EXPECT_EQ(server_.send_to(identity).call<std::string>("string.upper", "abc"), "ABC");
}

TEST_F(ServerToClient, HandlerCallsBackItsCallerWhileTheCallerWaits) {
  server_.register_rpc(
      "call_me_back",
      [this](const std::string& identity, int v) { return server_.send_to(identity).call<int>("inc", v) * 10; },
      {.with_identity = true, .blocking = true});
  Client client("server", {.routing_id = "nested"});
  client.register_rpc("inc", [](int v) { return v + 1; });
  client.connect(endpoint_);
  EXPECT_EQ(client.call<int>("call_me_back", 4), 50);
}

TEST_F(ServerToClient, AsyncCallbackFromAnEngineThreadHandler) {
  std::promise<int> result;
  server_.register_rpc(
      "schedule",
      [this, &result](const std::string& identity) {
        server_.send_to(identity).async_call<int>([&result](Result<int> r) { result.set_value(r.get()); }, "seven");
        return true;
      },
      {.with_identity = true});
  Client client("server");
  client.register_rpc("seven", [] { return 7; });
  client.connect(endpoint_);
  EXPECT_TRUE(client.call<bool>("schedule"));
  auto future = result.get_future();
  EXPECT_EQ(get_within(future), 7);
}

TEST_F(ServerToClient, ClientThatLeftIsUnreachableAtOnce) {
  {
    Client client("server", {.routing_id = "leaver"});
    client.register_rpc("double", [](int v) { return 2 * v; });
    client.connect(endpoint_);
    ASSERT_EQ(server_.send_to("leaver").call<int>("double", 1, CallOptions{.wait_for_ready = true}), 2);
  }
  // The disconnect reaches the server's ROUTER asynchronously: a call sent in
  // that window is lost with the connection and times out. From then on every
  // call fails at once rather than at its timeout.
  ASSERT_TRUE(eventually([&] {
    try {
      server_.send_to("leaver").call<int>("double", 1, CallOptions{.timeout = 200ms});
    } catch (const PeerUnreachableError&) {
      return true;
    } catch (const TimeoutError&) {
    }
    return false;
  }));
  const auto start = std::chrono::steady_clock::now();
  EXPECT_THROW(server_.send_to("leaver").call<int>("double", 1), PeerUnreachableError);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 100ms);
}

TEST_F(ServerToClient, ErrorsTravelBackFromTheClient) {
  Client client("server", {.routing_id = "failing"});
  client.register_rpc("fail", [] { throw std::invalid_argument("client says no"); });
  client.connect(endpoint_);
  ASSERT_EQ(client.call<std::string>("ping"), "pong");
  try {
    server_.send_to("failing").call<void>("fail");
    FAIL() << "expected ValueError";
  } catch (const RemoteError& e) {
    EXPECT_EQ(e.name(), "ValueError");
    EXPECT_EQ(e.message(), "client says no");
  }
  EXPECT_THROW(server_.send_to("failing").call<void>("missing"), ServiceNotFoundError);
}

}  // namespace
}  // namespace pseud::test

namespace pseud::test {
namespace {

// A minimal ZAP handler for PLAIN: accepts everyone, User-Id = the username.
class AcceptAllZap {
 public:
  explicit AcceptAllZap(zmq::context_t& context) : socket_(context, zmq::socket_type::rep) {
    socket_.set(zmq::sockopt::linger, 0);
    socket_.bind("inproc://zeromq.zap.01");
    thread_ = std::thread([this] { serve(); });
  }
  ~AcceptAllZap() {
    running_ = false;
    thread_.join();
  }

 private:
  void serve() {
    while (running_) {
      std::vector<zmq::pollitem_t> items{{socket_.handle(), 0, ZMQ_POLLIN, 0}};
      if (zmq::poll(items, std::chrono::milliseconds(20)) == 0) continue;
      Frames request;
      do {
        zmq::message_t frame;
        if (!socket_.recv(frame)) return;
        request.push_back(frame.to_string());
        if (!frame.more()) break;
      } while (true);
      // [version, sequence, domain, address, identity, mechanism, username, password]
      const std::string user = request.size() >= 8 ? request[6] : "";
      const Frames reply{"1.0", request.size() > 1 ? request[1] : "", "200", "OK", user, ""};
      for (std::size_t i = 0; i < reply.size(); ++i) {
        socket_.send(zmq::buffer(reply[i]), i + 1 < reply.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
      }
    }
  }

  zmq::socket_t socket_;
  std::atomic<bool> running_{true};
  std::thread thread_;
};

TEST(UserIdRouting, ServerCallsAClientByItsZapUserId) {
  auto context = std::make_shared<zmq::context_t>();
  AcceptAllZap zap(*context);
  Server server("server", {.configure_socket = [](zmq::socket_ref s) {
                             s.set(zmq::sockopt::plain_server, 1);
                             s.set(zmq::sockopt::zap_domain, "test");
                           },
                           .context = context});
  std::promise<std::string> seen;
  server.register_rpc("whoami", [&seen](const Caller& caller) {
    seen.set_value(caller.routing_id);
    return caller.user_id;
  });
  const std::string endpoint = server.bind("tcp://127.0.0.1:*");

  // Anonymous at the ZMQ level: only the User-Id names it.
  Client client("server", {.configure_socket = [](zmq::socket_ref s) {
                             s.set(zmq::sockopt::plain_username, "alice");
                             s.set(zmq::sockopt::plain_password, "secret");
                           },
                           .context = context});
  client.register_rpc("double", [](int v) { return 2 * v; });
  client.connect(endpoint);
  EXPECT_EQ(client.call<std::string>("whoami"), "alice");
  auto routing_id = seen.get_future();
  EXPECT_NE(get_within(routing_id), "alice");  // the route is a generated id...
  EXPECT_EQ(server.send_to("alice").call<int>("double", 21), 42);  // ...that the User-Id maps to
}

}  // namespace
}  // namespace pseud::test
