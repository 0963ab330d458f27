// Issue 9, row 2: a server's call to a user goes to that user's connection
// and nowhere else. While alice is offline another connection presents her
// routing id; with authentication on, send_to("alice") must fail at once
// (never reach the impostor), no WORK may go to a connection that has not
// authenticated, and a reply counts only from the connection and User-Id the
// WORK went to.

#include <future>

#include <gtest/gtest.h>

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

const std::pair<std::string, std::string> cheap_hash{"hash_cost", "minimal"};
using namespace frame_bytes;

std::string packed(const std::string& value) {
  msgpack::sbuffer buffer;
  msgpack::pack(buffer, value);
  return {buffer.data(), buffer.size()};
}

PeerOptions with_auth(std::string name, Settings settings, std::string routing_id = {}) {
  PeerOptions options;
  options.auth = {std::move(name), std::move(settings)};
  options.routing_id = std::move(routing_id);
  return options;
}

// One auth mode: how to make its server, and clients for alice and bob.
struct Mode {
  std::string name;
  std::function<PeerOptions()> server;
  std::function<PeerOptions(const std::string& user, const std::string& routing_id)> client;
};

Mode plain_mode() {
  return {"plain",
          [] {
            return with_auth("plain", {{"user", "alice=alice-pw"}, {"user", "bob=bob-pw"}, cheap_hash,
                                       {"encrypted_link", "true"}});
          },
          [](const std::string& user, const std::string& routing_id) {
            return with_auth("plain", {{"login", user}, {"password", user + "-pw"}, {"encrypted_link", "true"}},
                             routing_id);
          }};
}

Mode trusted_curve_mode() {
  auto server = std::make_shared<CurveKeyPair>(generate_curve_keypair());
  auto alice = std::make_shared<CurveKeyPair>(generate_curve_keypair());
  auto bob = std::make_shared<CurveKeyPair>(generate_curve_keypair());
  return {"trusted_curve",
          [=] {
            return with_auth("trusted_curve", {{"secret_key", server->secret_key},
                                               {"trust", "alice=" + alice->public_key},
                                               {"trust", "bob=" + bob->public_key}});
          },
          [=](const std::string& user, const std::string& routing_id) {
            const CurveKeyPair& own = user == "alice" ? *alice : *bob;
            return with_auth("trusted_curve", {{"server_public_key", server->public_key},
                                               {"public_key", own.public_key},
                                               {"secret_key", own.secret_key}},
                             routing_id);
          }};
}

Mode untrusted_curve_mode() {
  auto server = std::make_shared<CurveKeyPair>(generate_curve_keypair());
  return {"untrusted_curve",
          [=] {
            return with_auth("untrusted_curve", {{"secret_key", server->secret_key},
                                                 {"user", "alice=alice-pw"},
                                                 {"user", "bob=bob-pw"},
                                                 cheap_hash});
          },
          [=](const std::string& user, const std::string& routing_id) {
            return with_auth("untrusted_curve", {{"server_public_key", server->public_key},
                                                 {"login", user},
                                                 {"password", user + "-pw"}},
                             routing_id);
          }};
}

struct Arena {
  explicit Arena(const Mode& mode) : server("server", mode.server()) {
    server.register_rpc("ping", [] { return std::string("pong"); });
    endpoint = server.bind("tcp://127.0.0.1:*");
  }
  std::unique_ptr<Client> client(const Mode& mode, const std::string& user, const std::string& routing_id) {
    auto peer = std::make_unique<Client>("server", mode.client(user, routing_id));
    peer->register_rpc("name_of_client", [this, user] {
      if (user != "alice") ++impostor_calls;
      return user + "'s client";
    });
    peer->connect(endpoint);
    return peer;
  }
  bool connected(const std::string& routing_id) {
    for (const auto& peer : server.connected_peers()) {
      if (peer.routing_id == routing_id) return true;
    }
    return false;
  }
  Server server;
  std::string endpoint;
  std::atomic<int> impostor_calls{0};
};

class Misroute : public ::testing::TestWithParam<Mode (*)()> {};

TEST_P(Misroute, AnOfflineUsersRoutingIdTakenByAnotherConnectionGetsNoWork) {
  const Mode mode = GetParam()();
  Arena arena(mode);
  {
    auto alice = arena.client(mode, "alice", "alice");
    ASSERT_EQ(alice->call<std::string>("ping"), "pong");
    ASSERT_EQ(arena.server.send_to("alice").call<std::string>("name_of_client"), "alice's client");
  }
  ASSERT_TRUE(eventually([&] { return !arena.connected("alice"); })) << "alice's connection never went";

  // Bob, a valid user, presents alice's routing id.
  auto bob = arena.client(mode, "bob", "alice");
  ASSERT_EQ(bob->call<std::string>("ping"), "pong");
  const auto started = Clock::now();
  EXPECT_THROW(arena.server.send_to("alice").call<std::string>("name_of_client"), PeerUnreachableError);
  const double failed_after = ms_between(started, Clock::now());
  EXPECT_LT(failed_after, 100.0 * faults::latency_factor());
  const int reached_impostor = arena.impostor_calls.load();
  EXPECT_EQ(reached_impostor, 0);
  // Bob is reached as himself.
  EXPECT_EQ(arena.server.send_to("bob").call<std::string>("name_of_client"), "bob's client");
  figure("misroute %s: send_to('alice') with bob on her routing id failed in %.2f ms (PeerUnreachableError); "
         "calls that reached bob as alice: %d",
         mode.name.c_str(), failed_after, reached_impostor);
}

TEST_P(Misroute, AConnectionThatHasNotAuthenticatedIsNeverSentWork) {
  const Mode mode = GetParam()();
  Arena arena(mode);
  // A raw connection under a routing id, which never authenticates (it sends
  // one WORK, which is refused or challenged, and nothing more).
  auto context = std::make_shared<zmq::context_t>();
  RawSocket stranger(*context, zmq::socket_type::dealer, "carol");
  stranger.socket().connect(arena.endpoint);
  stranger.send({"", V, "carol-call-0001", WORK, work_body("ping", 0, 0)});
  (void)stranger.receive(500ms);  // whatever the server says: UNAUTHORIZED, or nothing (handshake refused)
  const auto started = Clock::now();
  EXPECT_THROW(arena.server.send_to("carol").call<std::string>("name_of_client", CallOptions{.timeout = 1000ms}),
               PeerUnreachableError);
  const double failed_after = ms_between(started, Clock::now());
  EXPECT_LT(failed_after, 100.0 * faults::latency_factor());
  // Nothing arrives on the stranger's side.
  const auto extra = stranger.receive(200ms);
  EXPECT_FALSE(extra && extra->size() > 4 && (*extra)[4] == WORK) << "the server sent WORK to an unauthenticated connection";
  figure("misroute %s: send_to('carol') for an unauthenticated connection failed in %.2f ms", mode.name.c_str(),
         failed_after);
}

INSTANTIATE_TEST_SUITE_P(EveryAuthMode, Misroute,
                         ::testing::Values(&plain_mode, &trusted_curve_mode, &untrusted_curve_mode),
                         [](const auto& info) { return info.param().name; });

// A reply is accepted only from the connection (and user) the WORK went to.
TEST(MisrouteReplies, AReplyFromAnotherUsersConnectionIsDroppedAndCounted) {
  Arena arena(plain_mode());
  auto context = std::make_shared<zmq::context_t>();
  auto plain_dealer = [&](const std::string& user, const std::string& routing_id) {
    auto socket = std::make_unique<RawSocket>(*context, zmq::socket_type::dealer, routing_id);
    socket->socket().set(zmq::sockopt::plain_username, user);
    socket->socket().set(zmq::sockopt::plain_password, user + "-pw");
    socket->socket().connect(arena.endpoint);
    // Say something, so the server knows the connection and its user.
    socket->send({"", V, user + "-hello-00001", WORK, work_body("ping", 0, 0)});
    return socket;
  };
  auto alice = plain_dealer("alice", "alice-rid");
  auto mallory = plain_dealer("bob", "mallory-rid");
  ASSERT_TRUE(alice->receive(2000ms));
  ASSERT_TRUE(mallory->receive(2000ms));

  auto answer = arena.server.send_to("alice").async_call<std::string>("name_of_client");
  const auto work = alice->receive(2000ms);
  ASSERT_TRUE(work && work->size() == 5 && (*work)[3] == WORK);
  const std::string id = (*work)[2];
  // Mallory, another authenticated user, answers in alice's place.
  mallory->send({"", V, id, OK, packed("forged")});
  ASSERT_TRUE(eventually([&] { return arena.server.stats().misdirected_replies >= 1; }, 2000ms));
  EXPECT_EQ(answer.wait_for(0ms), std::future_status::timeout) << "the forged reply completed the call";
  alice->send({"", V, id, OK, packed("real")});
  EXPECT_EQ(get_within(answer, 2000ms), "real");
  figure("misroute replies: forged OK from another user's connection dropped (misdirected_replies=%llu); "
         "the real reply completed the call",
         static_cast<unsigned long long>(arena.server.stats().misdirected_replies));
}

// Without authentication a routing id proves nothing: whoever presents it is reached.
TEST(MisrouteNoop, WithoutAuthenticationARoutingIdIsAllThereIs) {
  Server server("server", PeerOptions{});
  const std::string endpoint = server.bind("tcp://127.0.0.1:*");
  Client anyone("server", PeerOptions{.routing_id = "alice"});
  anyone.register_rpc("name_of_client", [] { return std::string("whoever says so"); });
  anyone.connect(endpoint);
  ASSERT_TRUE(eventually([&] { return !server.connected_peers().empty(); }));
  EXPECT_EQ(server.send_to("alice").call<std::string>("name_of_client"), "whoever says so");
}

}  // namespace
}  // namespace pseud::test
