// A service over two hosts with its discovery on one of them: two network
// namespaces A and B joined by a veth pair (10.78.0.1/24 and 10.78.0.2/24);
// etcd runs in A on A's address; a fault_peer server in each namespace
// publishes itself there as one instance of the service; a fault_peer
// service client in B finds both through etcd (across the link) and its
// calls, round robin, reach the instance on its own side and the one across
// the link: each serves at least 20% of them, and none fails.
// Needs root, iproute2 and etcd; skipped with the reason otherwise. The
// namespaces (named pseuds-<pid>-a and -b, apart from fault_netns's) are
// deleted whatever happens, and ones left by a dead test process first.

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "etcd_server.hpp"
#include "fault_support.hpp"
#include "netns_support.hpp"

namespace pseud::faults {
namespace {

using test::EtcdServer;

const std::string address_a = "10.78.0.1";
const std::string address_b = "10.78.0.2";

// "served ID COUNT" lines up to "done CALLS FAILED MS", and the "failure ..." lines between.
struct Report {
  std::map<std::string, long> served;
  std::vector<std::string> failures;
  long calls = -1;
  long failed = -1;
  double ms = 0;
};

std::optional<Report> read_report(Host& client, std::chrono::milliseconds limit) {
  const auto done = client.take("done ", limit);
  if (!done) return std::nullopt;
  Report report;
  char* end = nullptr;
  const char* text = done->text.c_str() + 5;
  report.calls = std::strtol(text, &end, 10);
  report.failed = std::strtol(end, &end, 10);
  report.ms = std::strtod(end, nullptr);
  while (const auto line = client.take("served ", 0ms)) {
    const auto space = line->text.rfind(' ');
    report.served[line->text.substr(7, space - 7)] = std::strtol(line->text.c_str() + space + 1, nullptr, 10);
  }
  while (const auto line = client.take("failure ", 0ms)) report.failures.push_back(line->text);
  return report;
}

TEST(TwoNamespacesService, InstancesOnBothSidesFoundThroughEtcdInOneBothServe) {
  if (::geteuid() != 0)
    GTEST_SKIP() << "needs root to create network namespaces (running as uid " << ::geteuid() << ")";
  const std::string ip = test::program_on_path("ip");
  if (ip.empty()) GTEST_SKIP() << "needs iproute2's 'ip' on PATH";
  if (!EtcdServer::installed()) {
    GTEST_SKIP() << "etcd-server is not installed (" << EtcdServer::program()
                 << " not found): apt-get install etcd-server";
  }
  TwoHosts hosts({.prefix = "pseuds-", .link_prefix = "ps", .address_a = address_a, .address_b = address_b});
  if (!hosts.failure.empty()) GTEST_SKIP() << "this machine does not allow the two-namespace set-up: " << hosts.failure;
  const long calls = count(2000, 200, 100);

  const auto etcd_started = Clock::now();
  std::optional<EtcdServer> etcd;
  try {
    etcd.emplace(test::EtcdServerOptions{.host = address_a, .network_namespace = hosts.a_ns});
  } catch (const std::exception& e) {
    FAIL() << "etcd did not start in namespace " << hosts.a_ns << " on " << address_a << ": " << e.what();
  }
  const double etcd_ms = ms_between(etcd_started, Clock::now());

  // One instance on each side, both published in the etcd in A.
  auto server_args = [&](const std::string& id, const std::string& address) {
    return std::vector<std::string>{"server",     "--instance", id, "--endpoint", "tcp://" + address + ":*",
                                    "--register", etcd->address(), "--ttl", "5"};
  };
  Host a(ip, hosts.a_ns, server_args("a", address_a));
  Host b(ip, hosts.b_ns, server_args("b", address_b));
  for (Host* host : {&a, &b}) {
    ASSERT_TRUE(host->take("endpoint tcp://")) << "an instance did not bind" << host->unread();
    ASSERT_TRUE(host->take("registered")) << "an instance did not register in etcd at " << etcd->address()
                                          << host->unread();
  }

  // A service client in B, following the service in A's etcd.
  const auto client_started = Clock::now();
  Host client(ip, hosts.b_ns,
              {"service-client", "--discovery", etcd->address(), "--instances", "2", "--calls", std::to_string(calls)});
  const auto found = client.take("instances ", 15000ms);
  ASSERT_TRUE(found) << "the service client did not find both instances through etcd" << client.unread();
  const auto report = read_report(client, 60000ms);
  ASSERT_TRUE(report) << "the service client did not report" << client.unread();
  const double found_ms = std::strtod(found->text.c_str() + found->text.rfind(' ') + 1, nullptr);
  const long served_a = report->served.count("a") ? report->served.at("a") : 0;
  const long served_b = report->served.count("b") ? report->served.at("b") : 0;
  figure(
      "two namespaces (%s with etcd, ready in %.0f ms <-> %s): a service client in B found both instances through "
      "etcd across the link %.0f ms after it started (%.0f ms including its start); %ld calls in %.0f ms (mean "
      "%.2f ms): instance a (across the link) %ld, instance b (its own side) %ld, %ld failed",
      address_a.c_str(), etcd_ms, address_b.c_str(), found_ms, ms_between(client_started, found->at), report->calls,
      report->ms, report->ms / static_cast<double>(std::max(report->calls, 1L)), served_a, served_b, report->failed);
  std::string failures;
  for (const auto& line : report->failures) failures += "\n  " + line;
  EXPECT_EQ(report->calls, calls);
  EXPECT_EQ(report->failed, 0) << failures;
  EXPECT_GE(served_a * 5, calls) << "instance a (across the link) served under 20% of the calls";
  EXPECT_GE(served_b * 5, calls) << "instance b (same side) served under 20% of the calls";
  EXPECT_EQ(served_a + served_b, calls - report->failed);
}

}  // namespace
}  // namespace pseud::faults
