// Registry: dotted names, domains and predicates, lookup order as pseud's,
// parent registries, replacement, and concurrent use.

#include <atomic>
#include <thread>

#include <gtest/gtest.h>

#include "pseud/registry.hpp"

namespace pseud::test {
namespace {

// Runs a route's handler with no arguments and returns the packed result as a string.
std::string run(const Route& route) {
  detail::WireBuffer out;
  detail::Packer packer(out);
  Caller caller;
  route.handler(detail::Invocation{{route.name, nullptr, 0, nullptr, 0}, &caller}, packer);
  return msgpack::unpack(out.data(), out.size()).get().as<std::string>();
}

PredicateArgs user_with(std::vector<std::string> permissions) {
  PredicateArgs args;
  args.user_id = "someone";
  args.permissions = std::move(permissions);
  return args;
}

TEST(Registry, UnknownNameFindsNothing) {
  Registry registry;
  EXPECT_EQ(registry.lookup("missing", {}), nullptr);
}

TEST(Registry, DottedNamesAreFoundVerbatim) {
  Registry registry;
  registry.register_rpc("string.upper", [] { return std::string("upper"); });
  ASSERT_NE(registry.lookup("string.upper", {}), nullptr);
  EXPECT_EQ(registry.lookup("string", {}), nullptr);
  EXPECT_EQ(registry.lookup("upper", {}), nullptr);
}

TEST(Registry, InvalidNamesAreRefused) {
  Registry registry;
  for (const char* name : {"", ".a", "a.", "a..b"}) {
    EXPECT_THROW(registry.register_rpc(name, [] {}), UsageError) << name;
  }
  EXPECT_THROW(registry.register_rpc("ok", [] {}, {.domain = ""}), UsageError);
}

TEST(Registry, SameNameInTwoDomainsPicksByPermission) {
  Registry registry;
  registry.register_rpc("power", [] { return std::string("small power"); });
  registry.register_rpc("power", [] { return std::string("great power"); }, {.domain = "restricted"});
  registry.set_predicate("restricted", [](const PredicateArgs& a) { return a.has_permission("admin"); });
  EXPECT_EQ(run(*registry.lookup("power", user_with({}))), "small power");
  EXPECT_EQ(run(*registry.lookup("power", user_with({"admin"}))), "great power");
}

TEST(Registry, NonDefaultDomainWithoutPredicateRefusesEveryone) {
  Registry registry;
  registry.register_rpc("admin.only", [] { return std::string("secret"); }, {.domain = "restricted"});
  EXPECT_EQ(registry.lookup("admin.only", user_with({"admin"})), nullptr);
}

TEST(Registry, NonDefaultDomainsAreTriedFirstInRegistrationOrder) {
  Registry registry;
  registry.register_rpc("f", [] { return std::string("default"); });
  registry.register_rpc("f", [] { return std::string("first"); }, {.domain = "one"});
  registry.register_rpc("f", [] { return std::string("second"); }, {.domain = "two"});
  registry.set_predicate("one", [](const PredicateArgs& a) { return a.has_permission("one"); });
  registry.set_predicate("two", [](const PredicateArgs&) { return true; });
  EXPECT_EQ(run(*registry.lookup("f", user_with({"one"}))), "first");
  EXPECT_EQ(run(*registry.lookup("f", user_with({}))), "second");
}

TEST(Registry, PredicateOnTheDefaultDomainIsHonoured) {
  Registry registry;
  registry.register_rpc("f", [] { return std::string("x"); });
  registry.set_predicate("default", [](const PredicateArgs& a) { return !a.user_id.empty(); });
  EXPECT_EQ(registry.lookup("f", PredicateArgs{}), nullptr);
  EXPECT_NE(registry.lookup("f", user_with({})), nullptr);
}

TEST(Registry, LocalShadowsParentAndParentFillsIn) {
  Registry parent;
  Registry local(&parent);
  parent.register_rpc("shared", [] { return std::string("parent"); });
  parent.register_rpc("only_parent", [] { return std::string("parent"); });
  local.register_rpc("shared", [] { return std::string("local"); });
  EXPECT_EQ(run(*local.lookup("shared", {})), "local");
  EXPECT_EQ(run(*local.lookup("only_parent", {})), "parent");
  EXPECT_EQ(parent.lookup("shared", {})->name, "shared");
  EXPECT_EQ(run(*parent.lookup("shared", {})), "parent");
}

TEST(Registry, ParentPredicatesApplyToLocalRoutes) {
  Registry parent;
  Registry local(&parent);
  parent.set_predicate("restricted", [](const PredicateArgs& a) { return a.has_permission("admin"); });
  local.register_rpc("admin.only", [] { return std::string("ok"); }, {.domain = "restricted"});
  EXPECT_EQ(local.lookup("admin.only", user_with({})), nullptr);
  EXPECT_NE(local.lookup("admin.only", user_with({"admin"})), nullptr);
}

TEST(Registry, ReRegisteringReplacesAndUnregisterRemoves) {
  Registry registry;
  registry.register_rpc("f", [] { return std::string("old"); });
  registry.register_rpc("f", [] { return std::string("new"); });
  EXPECT_EQ(run(*registry.lookup("f", {})), "new");
  EXPECT_TRUE(registry.unregister_rpc("f"));
  EXPECT_FALSE(registry.unregister_rpc("f"));
  EXPECT_EQ(registry.lookup("f", {}), nullptr);
}

TEST(Registry, VisibleRoutesHideWhatPredicatesRefuse) {
  Registry registry;
  registry.register_rpc("b.public", [] {}, {.doc = "for all"});
  registry.register_rpc("a.secret", [] {}, {.domain = "restricted", .doc = "admins"});
  registry.set_predicate("restricted", [](const PredicateArgs& a) { return a.has_permission("admin"); });
  auto visible = registry.visible_routes(user_with({}));
  ASSERT_EQ(visible.size(), 1u);
  EXPECT_EQ(visible[0]->name, "b.public");
  EXPECT_EQ(visible[0]->doc, "for all");
  auto admin = registry.visible_routes(user_with({"admin"}));
  ASSERT_EQ(admin.size(), 2u);
  EXPECT_EQ(admin[0]->name, "a.secret");
}

TEST(Registry, GlobalRegistryIsOneObject) {
  EXPECT_EQ(&global_registry(), &global_registry());
  register_rpc("registry_test.global", [] { return std::string("g"); });
  EXPECT_EQ(run(*global_registry().lookup("registry_test.global", {})), "g");
  EXPECT_TRUE(global_registry().unregister_rpc("registry_test.global"));
}

TEST(Registry, ConcurrentRegistrationAndLookup) {
  Registry registry;
  std::atomic<bool> done{false};
  std::atomic<int> found{0};
  std::thread reader([&] {
    while (!done) {
      if (registry.lookup("n0", {})) ++found;
    }
  });
  for (int i = 0; i < 2000; ++i) {
    registry.register_rpc("n" + std::to_string(i % 50), [] { return std::string("x"); });
  }
  done = true;
  reader.join();
  EXPECT_NE(registry.lookup("n49", {}), nullptr);
}

}  // namespace
}  // namespace pseud::test
