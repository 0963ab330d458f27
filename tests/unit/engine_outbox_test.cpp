// Outbox: what leaves a peer is the wire layer's frames, byte for byte, and
// a refusal says why. Over inproc, with a raw DEALER as the other side.

#include <string>

#include <gtest/gtest.h>
#include <zmq.hpp>

#include "engine/outbox.hpp"
#include "test_support.hpp"
#include "wire/frames.hpp"

namespace pseud::detail {
namespace {

using namespace std::chrono_literals;

struct Pair {
  zmq::context_t context;
  zmq::socket_t router{context, zmq::socket_type::router};
  test::RawSocket dealer{context, zmq::socket_type::dealer, "the-dealer"};

  explicit Pair(int hwm = 1000) {
    static int counter = 0;
    const std::string endpoint = "inproc://outbox-" + std::to_string(++counter);
    router.set(zmq::sockopt::linger, 0);
    router.set(zmq::sockopt::router_mandatory, 1);
    router.set(zmq::sockopt::sndhwm, hwm);
    router.bind(endpoint);
    dealer.socket().set(zmq::sockopt::rcvhwm, hwm);
    dealer.socket().connect(endpoint);
  }
};

// Sends a copy of `body`.
int send_copy(Outbox& outbox, std::string_view routing_id, std::string_view id, wire::MessageType type,
              std::string_view body) {
  zmq::message_t message(body.data(), body.size());
  return outbox.send(routing_id, id, type, message);
}

TEST(Outbox, SendsTheWireLayersFramesAndTakesTheBodyWithoutACopy) {
  Pair pair;
  Outbox outbox(pair.router);
  zmq::message_t body(std::string("\x93\xa3""add\x92\x01\x02\x80"));
  ASSERT_EQ(outbox.send("the-dealer", "0123456789abcdef", wire::MessageType::work, body), 0);
  EXPECT_EQ(body.size(), 0u) << "the body was handed over";
  const auto received = pair.dealer.receive(2000ms);
  ASSERT_TRUE(received);
  const auto expected = wire::router_frames(
      "the-dealer", wire::Message{"0123456789abcdef", wire::MessageType::work, "\x93\xa3""add\x92\x01\x02\x80"});
  // The DEALER sees every frame but the routing id.
  ASSERT_EQ(received->size(), expected.size() - 1);
  for (std::size_t i = 1; i < expected.size(); ++i) EXPECT_EQ((*received)[i - 1], expected[i]) << "frame " << i;
  EXPECT_EQ((*received)[1], "v1");
  EXPECT_EQ((*received)[3], std::string(1, '\x03'));
}

TEST(Outbox, EveryTypeAndAnEmptyBody) {
  Pair pair;
  Outbox outbox(pair.router);
  for (const auto type : {wire::MessageType::ok, wire::MessageType::hello, wire::MessageType::work,
                          wire::MessageType::authenticated, wire::MessageType::heartbeat, wire::MessageType::error,
                          wire::MessageType::unauthorized}) {
    ASSERT_EQ(send_copy(outbox, "the-dealer", "", type, std::string_view{}), 0);
    const auto received = pair.dealer.receive(2000ms);
    ASSERT_TRUE(received);
    EXPECT_EQ(*received, (test::Frames{"", "v1", "", std::string(wire::type_frame(type)), ""}));
  }
}

TEST(Outbox, NoSuchRoutingIdIsEhostunreach) {
  Pair pair;
  Outbox outbox(pair.router);
  EXPECT_EQ(send_copy(outbox, "nobody", "id", wire::MessageType::heartbeat, std::string_view{}), EHOSTUNREACH);
  // Nothing half-sent is left behind: the next message arrives whole.
  ASSERT_EQ(send_copy(outbox, "the-dealer", "id", wire::MessageType::heartbeat, std::string_view{}), 0);
  const auto received = pair.dealer.receive(2000ms);
  ASSERT_TRUE(received);
  EXPECT_EQ(received->size(), 5u);
}

TEST(Outbox, AFullQueueIsEagainAndNothingWaits) {
  Pair pair(4);
  Outbox outbox(pair.router);
  int sent = 0;
  int error = 0;
  while (sent < 100000 && (error = send_copy(outbox, "the-dealer", "id", wire::MessageType::ok, "x")) == 0) ++sent;
  EXPECT_EQ(error, EAGAIN);
  EXPECT_GT(sent, 0);
  EXPECT_LT(sent, 100) << "inproc queues hold both sides' high-water marks, no more";
  // Once read, the queue takes messages again (when libzmq has passed the
  // reader's credit back, which a later send picks up).
  for (int i = 0; i < sent; ++i) ASSERT_TRUE(pair.dealer.receive(2000ms));
  EXPECT_TRUE(test::eventually([&] { return send_copy(outbox, "the-dealer", "id", wire::MessageType::ok, "x") == 0; }, 2000ms));
}

}  // namespace
}  // namespace pseud::detail
