// Backends written as role interfaces (ServerAuth, ClientAuth) end to end:
// registered by name, they carry calls; a connection they do not let in is
// answered UNAUTHORIZED "Authentication Required" and reaches no handler;
// routing-id takeover is refused unless the backend opts in.

#include <atomic>

#include <gtest/gtest.h>

#include "pseud/pseud.hpp"

namespace pseud::test {
namespace {

using namespace std::chrono_literals;

// Lets in connections whose routing id starts with "member"; a user of its
// own. Its client side counts configure() and stop().
class MembersOnly final : public ServerAuth {
 public:
  void configure(AuthHost&) override {}
  bool is_authenticated(const Connection& from) override { return from.routing_id.starts_with("member"); }
  PredicateArgs predicate_arguments(const Caller& caller) override {
    PredicateArgs args;
    args.user_id = caller.routing_id;
    args.permissions = {"member"};
    return args;
  }
};

std::atomic<int> client_configured{0}, client_stopped{0};

class Member final : public ClientAuth {
 public:
  void configure(AuthHost& host) override {
    EXPECT_EQ(host.role(), PeerRole::client);
    ++client_configured;
  }
  void stop() override { ++client_stopped; }
};

void register_members_only(const std::string& name, bool takeover) {
  register_auth_backend(name, {.server = [](const Settings&) { return std::make_unique<MembersOnly>(); },
                               .client = [](const Settings&) { return std::make_unique<Member>(); },
                               .allows_routing_id_takeover = takeover});
}

struct Service {
  explicit Service(const std::string& backend) : server("server", PeerOptions{.auth = {backend, {}}}) {
    server.register_rpc("who", [this](const std::string& identity) {
      ++calls;
      return identity;
    }, {.with_identity = true});
    server.register_rpc("members.only", [] { return 1; }, {.domain = "members"});
    server.registry().set_predicate("members", require_permission("member"));
    endpoint = server.bind("tcp://127.0.0.1:*");
  }
  Server server;
  std::string endpoint;
  std::atomic<int> calls{0};
};

std::unique_ptr<Client> client_of(const Service& service, const std::string& backend, const std::string& routing_id) {
  auto client = std::make_unique<Client>("server", PeerOptions{.auth = {backend, {}}, .routing_id = routing_id});
  client->connect(service.endpoint);
  return client;
}

TEST(AuthRoles, RoleInterfacesRegisteredByNameCarryCallsAndRefuseOthers) {
  register_members_only("members_only", false);
  const int configured_before = client_configured.load(), stopped_before = client_stopped.load();
  {
    Service service("members_only");
    auto member = client_of(service, "members_only", "member-1");
    EXPECT_EQ(member->call<int>("members.only"), 1);
    auto stranger = client_of(service, "members_only", "stranger");
    try {
      stranger->call<int>("members.only", CallOptions{.timeout = 5s});
      FAIL() << "expected UnauthorizedError";
    } catch (const UnauthorizedError& e) {
      EXPECT_EQ(e.message(), "Authentication Required");
    }
    EXPECT_EQ(service.calls.load(), 0);
  }
  EXPECT_EQ(client_configured.load() - configured_before, 2);
  EXPECT_EQ(client_stopped.load() - stopped_before, 2);
}

TEST(AuthRoles, ASecondConnectionReusingAMembersRoutingIdIsIgnoredByDefault) {
  register_members_only("members_no_takeover", false);
  Service service("members_no_takeover");
  auto first = client_of(service, "members_no_takeover", "member-shared");
  ASSERT_EQ(first->call<int>("members.only"), 1);
  auto second = client_of(service, "members_no_takeover", "member-shared");
  // Its connection is refused the routing id: its call reaches nobody.
  EXPECT_THROW(second->call<int>("members.only", CallOptions{.timeout = 500ms}), TimeoutError);
  // A bare routing id is not a user: nothing is sent to it.
  EXPECT_THROW(service.server.send_to("member-shared").call<int>("anything"), PeerUnreachableError);
  EXPECT_EQ(first->call<int>("members.only"), 1);
}

TEST(AuthRoles, ABackendThatOptsInLetsASecondConnectionTakeTheRoutingIdOver) {
  register_members_only("members_takeover", true);
  Service service("members_takeover");
  auto first = client_of(service, "members_takeover", "member-shared");
  ASSERT_EQ(first->call<int>("members.only"), 1);
  auto second = client_of(service, "members_takeover", "member-shared");
  EXPECT_EQ(second->call<int>("members.only", CallOptions{.timeout = 5s}), 1);
}

}  // namespace
}  // namespace pseud::test
