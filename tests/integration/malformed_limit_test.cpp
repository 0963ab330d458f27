// PeerOptions::malformed_limit: a connection that sends more malformed
// messages within a second than the limit is closed under libzmq, what it
// had queued is dropped unread, and everybody else is served as before. A raw
// DEALER plays the hostile peer; it reconnects by itself, as libzmq does.

#include <atomic>
#include <cstdio>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "pseud/pseud.hpp"
#include "frame_bytes.hpp"
#include "test_support.hpp"

namespace pseud::test {
namespace {

using namespace frame_bytes;
const std::string undecodable = hex_decode("c1");  // a WORK body msgpack never uses

std::string fresh_id() {
  static std::atomic<unsigned> counter{0};
  char text[32];
  std::snprintf(text, sizeof text, "limit-id-%07x", counter.fetch_add(1));
  return std::string(text, 16);
}

std::string packed_int(int value) {
  msgpack::sbuffer buffer;
  msgpack::pack(buffer, value);
  return {buffer.data(), buffer.size()};
}

class Limited {
 public:
  explicit Limited(std::uint32_t limit, const std::string& transport = "tcp://127.0.0.1:*")
      : server_("server", PeerOptions{.malformed_limit = limit, .parent_registry = nullptr, .context = context_}) {
    server_.register_rpc("add", [](int a, int b) { return a + b; });
    endpoint_ = server_.bind(transport == "inproc" ? "inproc://malformed-limit-" + fresh_id() : transport);
    hostile_ = std::make_unique<RawSocket>(*context_, zmq::socket_type::dealer, "hostile");
    hostile_->socket().connect(endpoint_);
  }

  void send_malformed(int count) {
    for (int i = 0; i < count; ++i) hostile_->send({"", V, fresh_id(), WORK, undecodable});
  }

  /// Whether a valid WORK from the hostile DEALER is answered, trying again
  /// (a message written on a connection being closed is lost) within `bound`.
  bool hostile_is_served_again() {
    const auto until = std::chrono::steady_clock::now() + bound;
    while (std::chrono::steady_clock::now() < until) {
      const std::string id = fresh_id();
      hostile_->send({"", V, id, WORK, work_body("add", 2, 3)});
      ++well_formed_sent_;
      // The ERROR replies to the malformed messages may come first: skip them.
      const auto attempt_end = std::chrono::steady_clock::now() + 500ms;
      while (std::chrono::steady_clock::now() < attempt_end) {
        const auto reply = hostile_->receive(100ms);
        if (reply && *reply == Frames{"", V, id, OK, packed_int(5)}) return true;
      }
    }
    return false;
  }

  Server& server() { return server_; }
  const std::string& endpoint() const { return endpoint_; }
  /// Well-formed calls hostile_is_served_again() sent: one sent on a
  /// connection being cut is dropped unread too.
  std::uint64_t well_formed_sent() const { return well_formed_sent_; }
  zmq::context_t& context() { return *context_; }

 private:
  std::shared_ptr<zmq::context_t> context_ = std::make_shared<zmq::context_t>();
  Server server_;
  std::string endpoint_;
  std::unique_ptr<RawSocket> hostile_;
  std::uint64_t well_formed_sent_ = 0;
};

TEST(MalformedLimit, AConnectionOverTheLimitIsClosedAndTheOthersAreServed) {
  Limited arena(20);
  Client client("server", PeerOptions{.parent_registry = nullptr, .context = nullptr});
  client.connect(arena.endpoint());
  ASSERT_EQ(client.call<int>("add", 1, 2), 3);

  arena.send_malformed(500);
  ASSERT_TRUE(eventually([&] { return arena.server().stats().connections_cut >= 1; }))
      << "malformed: " << arena.server().stats().malformed_messages;
  EXPECT_EQ(client.call<int>("add", 2, 2), 4);
  // The DEALER reconnects by itself, and a well-formed call is answered on
  // the new connection (after what was left in its queue, which may cost it
  // the new connection too: hence "eventually").
  EXPECT_TRUE(arena.hostile_is_served_again());
  // Each connection is counted up to the limit and one past it; what it had
  // queued behind is dropped unread, or lost with it (well-formed retries
  // sent before the cut took effect included).
  const PeerStats stats = arena.server().stats();
  EXPECT_GE(stats.malformed_messages, 21u);
  EXPECT_LE(stats.malformed_messages, 21u * stats.connections_cut + 20u);
  EXPECT_LE(stats.malformed_messages + stats.dropped_after_cut, 500u + arena.well_formed_sent());
}

// Sends `count` malformed messages, which must neither close the connection
// nor keep its next well-formed call from being answered.
void expect_connection_kept(Limited& arena, int count) {
  arena.send_malformed(count);
  EXPECT_TRUE(arena.hostile_is_served_again());
  EXPECT_EQ(arena.server().stats().malformed_messages, static_cast<std::uint64_t>(count));
  EXPECT_EQ(arena.server().stats().connections_cut, 0u);
}

TEST(MalformedLimit, UpToTheLimitNothingIsClosed) {
  Limited arena(50);
  expect_connection_kept(arena, 50);
}

TEST(MalformedLimit, ZeroNeverCloses) {
  Limited arena(0);
  expect_connection_kept(arena, 500);
}

TEST(MalformedLimit, InprocConnectionsHaveNoDescriptorAndAreNotClosed) {
  Limited arena(5, "inproc");
  expect_connection_kept(arena, 50);
}

}  // namespace
}  // namespace pseud::test
