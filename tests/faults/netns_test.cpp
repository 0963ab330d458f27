// Two hosts (SECURITY-NOTES §D, §E): the test makes two network namespaces
// joined by a veth pair (10.77.0.1/24 and 10.77.0.2/24), runs a fault_peer
// server in one and a fault_peer client in the other (`ip netns exec`), and
//   * they call each other both ways (client -> server, server -> client by
//     the client's routing id);
//   * with calls in flight both ways, an nftables rule in the server's
//     namespace drops everything on the link: the liveness heartbeats
//     (H = 100 ms, L = 3, require_heartbeats) declare each side's peer gone,
//     and the calls fail with PeerGoneError, within (L + 1) x H = 400 ms;
//   * the rule removed, both sides list each other again and calls work.
// Needs root, iproute2 and nftables; skipped with the reason otherwise. The
// namespaces (named with this process's pid) are deleted whatever happens,
// and ones left by a dead test process are deleted first.

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "fault_support.hpp"
#include "netns_support.hpp"
#include "pseud/pseud.hpp"

namespace pseud::faults {
namespace {

constexpr auto interval = 100ms;  // H
constexpr int liveness = 3;       // L
const auto detection_limit = interval * (liveness + 1) * latency_factor();
const std::string server_address = "10.77.0.1";
const std::string client_address = "10.77.0.2";

// "result TAG MS VALUE": the helper's own measure of the call, in ms.
double call_ms(const Host::Line& line) {
  const auto first = line.text.find(' ');
  const auto second = line.text.find(' ', first + 1);
  return std::strtod(line.text.c_str() + second + 1, nullptr);
}

std::vector<std::string> liveness_args() {
  return {"--heartbeat",
          "liveness",
          "--interval-ms",
          std::to_string(interval.count()),
          "--liveness",
          std::to_string(liveness),
          "--require-heartbeats",
          "true",
          "--serve-blocking-seconds",
          "30"};
}

TEST(TwoNamespaces, CallsBothWaysAndALinkCutIsDetectedByHeartbeats) {
  if (::geteuid() != 0)
    GTEST_SKIP() << "needs root to create network namespaces (running as uid " << ::geteuid() << ")";
  const std::string ip = test::program_on_path("ip");
  if (ip.empty()) GTEST_SKIP() << "needs iproute2's 'ip' on PATH";
  if (test::program_on_path("nft").empty()) GTEST_SKIP() << "needs nftables' 'nft' on PATH";
  TwoHosts hosts({.prefix = "pseudf-",
                  .link_prefix = "pf",
                  .address_a = server_address,
                  .address_b = client_address,
                  .nft_table = "pseudfault"});
  if (!hosts.failure.empty()) GTEST_SKIP() << "this machine does not allow the two-namespace set-up: " << hosts.failure;
  const long calls = count(200, 20, 20);

  const std::string endpoint = "tcp://" + server_address + ":7077";
  std::vector<std::string> server_args{"server", "--endpoint", endpoint};
  std::vector<std::string> client_args{"client", endpoint, "--routing-id", "netns-client"};
  for (const auto& arg : liveness_args()) {
    server_args.push_back(arg);
    client_args.push_back(arg);
  }
  Host server(ip, hosts.a_ns, server_args);
  ASSERT_TRUE(server.take("endpoint " + endpoint)) << "the server did not bind " << endpoint << server.unread();
  Host client(ip, hosts.b_ns, client_args);
  ASSERT_TRUE(client.take("ready")) << "the client could not reach the server" << client.unread();
  ASSERT_TRUE(server.take("joined netns-client")) << server.unread();
  ASSERT_TRUE(client.take("joined server")) << client.unread();

  // Calls both ways.
  double client_worst = 0, server_worst = 0, client_total = 0, server_total = 0;
  for (long i = 0; i < calls; ++i) {
    const std::string n = std::to_string(i);
    const auto up = client.call("c" + n, "-", "echo", "up-" + n);
    ASSERT_TRUE(up) << "client -> server call " << i << " got no outcome" << client.unread();
    ASSERT_EQ(up->text.substr(up->text.rfind(' ') + 1), "up-" + n) << up->text;
    ASSERT_EQ(up->text.rfind("result ", 0), 0u) << up->text;
    const auto down = server.call("s" + n, "netns-client", "echo", "down-" + n);
    ASSERT_TRUE(down) << "server -> client call " << i << " got no outcome" << server.unread();
    ASSERT_EQ(down->text.rfind("result ", 0), 0u) << down->text;
    ASSERT_EQ(down->text.substr(down->text.rfind(' ') + 1), "down-" + n) << down->text;
    client_worst = std::max(client_worst, call_ms(*up));
    server_worst = std::max(server_worst, call_ms(*down));
    client_total += call_ms(*up);
    server_total += call_ms(*down);
  }
  figure(
      "two namespaces over veth (%s <-> %s): %ld calls each way succeeded; client -> server mean %.2f ms "
      "(worst %.2f), server -> client mean %.2f ms (worst %.2f)",
      client_address.c_str(), server_address.c_str(), calls, client_total / static_cast<double>(calls), client_worst,
      server_total / static_cast<double>(calls), server_worst);

  // A call in flight each way, then the cut.
  ASSERT_TRUE(client.send("call up-pending - sleep 20 30000"));
  ASSERT_TRUE(server.take("sleeping")) << server.unread();
  ASSERT_TRUE(server.send("call down-pending netns-client sleep 20 30000"));
  ASSERT_TRUE(client.take("sleeping")) << client.unread();

  const auto cut_started = Clock::now();
  const CommandResult cut = hosts.cut();
  const auto cut_done = Clock::now();
  ASSERT_EQ(cut.status, 0) << "nft could not add the drop rules: " << cut.output;

  const auto server_gone = server.take("gone netns-client");
  const auto client_gone = client.take("gone server");
  const auto up_failed = client.outcome("up-pending");
  const auto down_failed = server.outcome("down-pending");
  ASSERT_TRUE(server_gone) << "the server never declared the client gone" << server.unread();
  ASSERT_TRUE(client_gone) << "the client never declared the server gone" << client.unread();
  ASSERT_TRUE(up_failed) << "the client's call in flight never ended" << client.unread();
  ASSERT_TRUE(down_failed) << "the server's call in flight never ended" << server.unread();
  EXPECT_NE(up_failed->text.find(" PeerGoneError "), std::string::npos) << up_failed->text;
  EXPECT_NE(down_failed->text.find(" PeerGoneError "), std::string::npos) << down_failed->text;
  // Timed from when nft returned (the rule is in force by then) and, in
  // brackets, from when it was started (an upper bound that includes nft's own run).
  const double server_ms = ms_between(cut_done, server_gone->at);
  const double client_ms = ms_between(cut_done, client_gone->at);
  const double up_ms = ms_between(cut_done, up_failed->at);
  const double down_ms = ms_between(cut_done, down_failed->at);
  figure(
      "link cut by an nft drop rule (nft ran %.1f ms): server declared the client gone after %.1f ms (%.1f), client "
      "declared the server gone after %.1f ms (%.1f); calls in flight failed with PeerGoneError after %.1f ms "
      "(client's) and %.1f ms (server's); bound %lld ms = (L+1)xH%s, H = %lld ms, L = %d",
      cut.ms, server_ms, ms_between(cut_started, server_gone->at), client_ms, ms_between(cut_started, client_gone->at),
      up_ms, down_ms, static_cast<long long>(detection_limit.count()), latency_note(),
      static_cast<long long>(interval.count()), liveness);
  std::printf("[ detail ] reasons: server: %s; client: %s\n", server_gone->text.c_str(), client_gone->text.c_str());
  const auto limit = static_cast<double>(detection_limit.count());
  EXPECT_LE(server_ms, limit);
  EXPECT_LE(client_ms, limit);
  EXPECT_LE(up_ms, limit);
  EXPECT_LE(down_ms, limit);

  // The link back: the connection itself survived (TCP retransmits), so the
  // first message through makes each side list the other again.
  const auto healed_at = Clock::now();
  const CommandResult heal = hosts.heal();
  ASSERT_EQ(heal.status, 0) << "nft could not remove the drop rules: " << heal.output;
  const auto server_back = server.take("joined netns-client", 10000ms);
  const auto client_back = client.take("joined server", 10000ms);
  EXPECT_TRUE(server_back) << "the server never listed the client again" << server.unread();
  EXPECT_TRUE(client_back) << "the client never listed the server again" << client.unread();
  const auto up = client.call("after-up", "-", "echo", "again", 10000ms);
  const auto down = server.call("after-down", "netns-client", "echo", "again", 10000ms);
  ASSERT_TRUE(up && down);
  EXPECT_EQ(up->text.rfind("result ", 0), 0u) << up->text;
  EXPECT_EQ(down->text.rfind("result ", 0), 0u) << down->text;
  figure(
      "link healed: server listed the client again after %.1f ms, client listed the server after %.1f ms; a call "
      "each way then succeeded (%s / %s)",
      server_back ? ms_between(healed_at, server_back->at) : -1.0,
      client_back ? ms_between(healed_at, client_back->at) : -1.0, up->text.c_str(), down->text.c_str());
}

}  // namespace
}  // namespace pseud::faults
