// Backends made by name refuse settings they do not know, listing the ones
// they do; role definitions (auth_roles.hpp) are made for the roles they
// have; routing-id takeover is off unless a backend opts in.

#include <gtest/gtest.h>

#include "pseud/backends.hpp"
#include "pseud/keys.hpp"

namespace pseud::test {
namespace {

// The UsageError `make` throws ("" when it throws none).
template <typename Make>
std::string usage_error_of(Make make) {
  try {
    make();
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(BackendSettings, AMisspeltHeartbeatSettingIsRefusedListingTheKnownOnes) {
  const auto error = usage_error_of(
      [] { make_heartbeat_backend({"liveness", {{"interval_msec", "100"}}}, PeerRole::server); });
  EXPECT_TRUE(contains(error, "liveness: unknown setting 'interval_msec'")) << error;
  EXPECT_TRUE(contains(error, "known: interval_ms, liveness, require_heartbeats")) << error;
  EXPECT_NE(make_heartbeat_backend({"liveness", {{"interval_ms", "100"}}}, PeerRole::client), nullptr);
}

TEST(BackendSettings, EachBuiltInAuthBackendRefusesUnknownNamesPerRoleWithoutQuotingValues) {
  const auto plain_server = usage_error_of([] {
    make_auth_backend({"plain", {{"user", "alice=a"}, {"hash_cost", "minimal"}, {"usr", "bob=hunter2"}}},
                      PeerRole::server);
  });
  EXPECT_TRUE(contains(plain_server, "plain: unknown setting 'usr'")) << plain_server;
  EXPECT_TRUE(contains(plain_server, "user, user_hash")) << plain_server;
  EXPECT_FALSE(contains(plain_server, "hunter2")) << "a value may be a secret";
  const auto plain_client =
      usage_error_of([] { make_auth_backend({"plain", {{"login", "a"}, {"pasword", "x"}}}, PeerRole::client); });
  EXPECT_TRUE(contains(plain_client, "known: encrypted_link, login, password")) << plain_client;
  // A server's setting given to a client is as unknown there as a typo.
  const auto curve_client =
      usage_error_of([] { make_auth_backend({"trusted_curve", {{"trust", "a=b"}}}, PeerRole::client); });
  EXPECT_TRUE(contains(curve_client, "unknown setting 'trust'")) << curve_client;
  const auto untrusted = usage_error_of(
      [] { make_auth_backend({"untrusted_curve", {{"max_challenge", "5"}}}, PeerRole::server); });
  EXPECT_TRUE(contains(untrusted, "max_challenged")) << untrusted;
  const auto noop = usage_error_of([] { make_auth_backend({"noop", {{"user", "a=b"}}}, PeerRole::server); });
  EXPECT_TRUE(contains(noop, "(known: none)")) << noop;
}

class QuietServer final : public ServerAuth {
 public:
  void configure(AuthHost&) override {}
};
class QuietClient final : public ClientAuth {
 public:
  void configure(AuthHost&) override {}
};

TEST(BackendSettings, AUsersDefinitionAcceptsOnlyTheSettingsItDeclares) {
  register_auth_backend("declared_settings_test",
                        {.server = [](const Settings&) { return std::make_unique<QuietServer>(); },
                         .client = [](const Settings&) { return std::make_unique<QuietClient>(); },
                         .settings = {.server = {"realm"}, .client = {"token"}}});
  EXPECT_NE(make_auth_backend({"declared_settings_test", {{"realm", "x"}}}, PeerRole::server), nullptr);
  EXPECT_NE(make_auth_backend({"declared_settings_test", {{"token", "x"}}}, PeerRole::client), nullptr);
  const auto error =
      usage_error_of([] { make_auth_backend({"declared_settings_test", {{"relm", "x"}}}, PeerRole::server); });
  EXPECT_TRUE(contains(error, "declared_settings_test: unknown setting 'relm' (known: realm)")) << error;
}

TEST(BackendSettings, AWholeInterfaceBackendChecksSettingsOnlyWhenItDeclaresThem) {
  class Open final : public AuthBackend {
   public:
    void configure(AuthHost&) override {}
    bool is_authenticated(const Connection&) override { return true; }
  };
  register_auth_backend("undeclared_settings_test", [](PeerRole, const Settings&) { return std::make_unique<Open>(); });
  EXPECT_NE(make_auth_backend({"undeclared_settings_test", {{"anything", "x"}}}, PeerRole::server), nullptr);
  register_auth_backend(
      "whole_declared_test", [](PeerRole, const Settings&) { return std::make_unique<Open>(); },
      SettingNames{{"a"}, {"b"}});
  EXPECT_TRUE(contains(
      usage_error_of([] { make_auth_backend({"whole_declared_test", {{"b", "x"}}}, PeerRole::server); }), "known: a"));
  register_heartbeat_backend(
      "declared_heartbeat_test", [](PeerRole, const Settings&) { return std::make_unique<HeartbeatBackend>(); },
      std::vector<std::string>{"period"});
  EXPECT_TRUE(contains(
      usage_error_of([] { make_heartbeat_backend({"declared_heartbeat_test", {{"perod", "1"}}}, PeerRole::client); }),
      "unknown setting 'perod' (known: period)"));
}

TEST(BackendRoles, ADefinitionWithoutASideRefusesThatRole) {
  register_auth_backend("server_only_test", {.server = [](const Settings&) { return std::make_unique<QuietServer>(); }});
  EXPECT_NE(make_auth_backend({"server_only_test", {}}, PeerRole::server), nullptr);
  const auto error = usage_error_of([] { make_auth_backend({"server_only_test", {}}, PeerRole::client); });
  EXPECT_TRUE(contains(error, "'server_only_test' has no client side")) << error;
  EXPECT_THROW(register_auth_backend("no_sides_test", AuthBackendDefinition{}), UsageError);
}

TEST(RoutingIdTakeover, OffForEveryBackendThatDoesNotOptIn) {
  EXPECT_TRUE(make_auth_backend({"noop", {}}, PeerRole::server)->allows_routing_id_takeover());
  EXPECT_FALSE(make_auth_backend({"plain", {{"user", "a=b"}, {"hash_cost", "minimal"}}}, PeerRole::server)
                   ->allows_routing_id_takeover());
  EXPECT_FALSE(
      make_auth_backend({"trusted_curve", {{"secret_key", generate_curve_keypair().secret_key},
                                           {"trust", "a=" + generate_curve_keypair().public_key}}},
                        PeerRole::server)
          ->allows_routing_id_takeover());
  register_auth_backend("takeover_default_test",
                        {.server = [](const Settings&) { return std::make_unique<QuietServer>(); }});
  EXPECT_FALSE(make_auth_backend({"takeover_default_test", {}}, PeerRole::server)->allows_routing_id_takeover());
  register_auth_backend("takeover_opt_in_test",
                        {.server = [](const Settings&) { return std::make_unique<QuietServer>(); },
                         .allows_routing_id_takeover = true});
  EXPECT_TRUE(make_auth_backend({"takeover_opt_in_test", {}}, PeerRole::server)->allows_routing_id_takeover());
  class Whole final : public AuthBackend {
   public:
    void configure(AuthHost&) override {}
    bool is_authenticated(const Connection&) override { return true; }
  };
  EXPECT_FALSE(Whole().allows_routing_id_takeover());
}

}  // namespace
}  // namespace pseud::test
