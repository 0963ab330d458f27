// ClientLink: what a client concludes about its server from the socket
// monitor's events, fed here in the orders libzmq reports them.

#include <chrono>

#include <gtest/gtest.h>
#include <zmq.h>

#include "engine/client_link.hpp"

namespace pseud::detail {
namespace {

using namespace std::chrono_literals;
using Kind = ClientLink::Change::Kind;
using Clock = ClientLink::Clock;

const std::string endpoint = "tcp://127.0.0.1:5555";

TEST(ClientLink, AServerNotThereYetIsWaitedForUnlessFailingFast) {
  const auto t0 = Clock::now();
  ClientLink patient("server", false);
  const auto change = patient.on_event(ZMQ_EVENT_CONNECT_RETRIED, endpoint, t0);
  EXPECT_EQ(change.kind, Kind::failed);
  EXPECT_FALSE(change.handshake);
  EXPECT_FALSE(change.fail_calls);
  EXPECT_TRUE(change.announce);
  EXPECT_NE(change.reason.find("not reachable at " + endpoint), std::string::npos) << change.reason;
  EXPECT_TRUE(patient.may_still_come());

  ClientLink hasty("server", true);
  EXPECT_TRUE(hasty.on_event(ZMQ_EVENT_CONNECT_RETRIED, endpoint, t0).fail_calls);
  EXPECT_FALSE(hasty.may_still_come());
  hasty.connecting();  // connect() again: the old failure no longer holds
  EXPECT_TRUE(hasty.failure().empty());
  EXPECT_TRUE(hasty.may_still_come());
}

TEST(ClientLink, ALostConnectionIsReportedAndCheckedForReconnection) {
  const auto t0 = Clock::now();
  ClientLink link("server", false);
  EXPECT_EQ(link.on_event(ZMQ_EVENT_CONNECTED, endpoint, t0).kind, Kind::none);
  EXPECT_EQ(link.on_event(ZMQ_EVENT_HANDSHAKE_SUCCEEDED, endpoint, t0).kind, Kind::up);
  EXPECT_FALSE(link.next_check());
  const auto lost = link.on_event(ZMQ_EVENT_DISCONNECTED, endpoint, t0 + 1s);
  EXPECT_EQ(lost.kind, Kind::lost);
  EXPECT_EQ(lost.reason, "the connection to server 'server' at " + endpoint + " was lost");
  EXPECT_EQ(link.next_check(), t0 + 1s + ClientLink::reconnect_check_delay);
  EXPECT_TRUE(link.take_stalled(t0 + 1s + ClientLink::reconnect_check_delay - 1ms).empty());
  EXPECT_EQ(link.take_stalled(t0 + 2s), std::vector<std::string>{endpoint});
  EXPECT_FALSE(link.next_check());
}

TEST(ClientLink, ReconnectingOnItsOwnCancelsTheCheck) {
  const auto t0 = Clock::now();
  ClientLink link("server", false);
  link.on_event(ZMQ_EVENT_HANDSHAKE_SUCCEEDED, endpoint, t0);
  link.on_event(ZMQ_EVENT_DISCONNECTED, endpoint, t0);
  EXPECT_EQ(link.on_event(ZMQ_EVENT_CONNECT_DELAYED, endpoint, t0).kind, Kind::none);
  EXPECT_FALSE(link.next_check());
  EXPECT_EQ(link.on_event(ZMQ_EVENT_HANDSHAKE_SUCCEEDED, endpoint, t0).kind, Kind::up);
  EXPECT_TRUE(link.failure().empty());
}

TEST(ClientLink, OneDropMidHandshakeIsARestartTwoInARowARefusal) {
  const auto t0 = Clock::now();
  ClientLink link("server", false);
  EXPECT_EQ(link.on_event(ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL, endpoint, t0).kind, Kind::none);
  const auto first = link.on_event(ZMQ_EVENT_DISCONNECTED, endpoint, t0);
  EXPECT_EQ(first.kind, Kind::failed);
  EXPECT_FALSE(first.handshake);
  EXPECT_FALSE(first.fail_calls);
  EXPECT_TRUE(link.may_still_come());
  // libzmq's own retry after the drop says nothing new.
  EXPECT_EQ(link.on_event(ZMQ_EVENT_CONNECT_RETRIED, endpoint, t0).kind, Kind::none);
  link.on_event(ZMQ_EVENT_CONNECTED, endpoint, t0);
  const auto second = link.on_event(ZMQ_EVENT_DISCONNECTED, endpoint, t0);
  EXPECT_EQ(second.kind, Kind::failed);
  EXPECT_TRUE(second.handshake);
  EXPECT_TRUE(second.fail_calls);
  EXPECT_TRUE(link.handshake_failed());
  EXPECT_FALSE(link.may_still_come());
}

TEST(ClientLink, ADropThenARefusedConnectionStartsTheCountAgain) {
  const auto t0 = Clock::now();
  ClientLink link("server", false);
  link.on_event(ZMQ_EVENT_DISCONNECTED, endpoint, t0);          // a drop mid-handshake
  link.on_event(ZMQ_EVENT_CONNECT_RETRIED, endpoint, t0);       // libzmq's retry after it
  const auto refused = link.on_event(ZMQ_EVENT_CONNECT_RETRIED, endpoint, t0);  // the server is down
  EXPECT_EQ(refused.kind, Kind::failed);
  EXPECT_FALSE(refused.handshake);
  EXPECT_EQ(link.on_event(ZMQ_EVENT_DISCONNECTED, endpoint, t0).handshake, false) << "the count restarted";
}

TEST(ClientLink, RefusedCredentialsAreFinalAndKeepTheirReason) {
  const auto t0 = Clock::now();
  ClientLink link("server", false);
  const auto refused = link.on_event(ZMQ_EVENT_HANDSHAKE_FAILED_AUTH, endpoint, t0);
  EXPECT_EQ(refused.kind, Kind::failed);
  EXPECT_TRUE(refused.handshake);
  EXPECT_TRUE(refused.fail_calls);
  EXPECT_EQ(refused.reason, "server 'server' at " + endpoint + " refused our credentials");
  EXPECT_EQ(link.on_event(ZMQ_EVENT_CONNECT_RETRIED, endpoint, t0).kind, Kind::none);
  EXPECT_EQ(link.failure(), refused.reason);
}

TEST(ClientLink, AnotherEndpointStillUpKeepsTheLinkUp) {
  const auto t0 = Clock::now();
  ClientLink link("server", false);
  link.on_event(ZMQ_EVENT_HANDSHAKE_SUCCEEDED, endpoint, t0);
  link.on_event(ZMQ_EVENT_HANDSHAKE_SUCCEEDED, "ipc:///tmp/other", t0);
  EXPECT_EQ(link.on_event(ZMQ_EVENT_DISCONNECTED, endpoint, t0).kind, Kind::none);
  EXPECT_EQ(link.on_event(ZMQ_EVENT_CONNECT_RETRIED, endpoint, t0).kind, Kind::none);
  EXPECT_TRUE(link.failure().empty());
  EXPECT_EQ(link.on_event(ZMQ_EVENT_DISCONNECTED, "ipc:///tmp/other", t0).kind, Kind::lost);
}

}  // namespace
}  // namespace pseud::detail
