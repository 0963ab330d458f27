// Route::signature: what introspection says about each registered function's
// parameters, computed at registration from the callable and its RpcOptions.

#include <map>
#include <sstream>
#include <vector>

#include <gtest/gtest.h>

#include "peer/introspection.hpp"
#include "pseud/registry.hpp"

namespace pseud::test {
namespace {

const Signature& signature(const Registry& registry, std::string_view name) {
  static const Signature none;
  const auto route = registry.lookup(name, {});
  return route ? route->signature : none;
}

std::vector<std::string> names(const Signature& s) {
  std::vector<std::string> out;
  for (const auto& p : s.params) out.push_back(p.name);
  return out;
}

std::vector<std::string> types(const Signature& s) {
  std::vector<std::string> out;
  for (const auto& p : s.params) out.push_back(p.type);
  return out;
}

using Strings = std::vector<std::string>;

TEST(Signature, NamedParametersKeepTheirNamesAndTypes) {
  Registry registry;
  registry.register_rpc("add", [](int a, double b) { return a + b; }, {.params = {"a", "b"}});
  const Signature& s = signature(registry, "add");
  EXPECT_EQ(names(s), (Strings{"a", "b"}));
  EXPECT_EQ(types(s), (Strings{"int", "float"}));
  EXPECT_FALSE(s.params[0].default_value);
  EXPECT_FALSE(s.takes_args);
  EXPECT_FALSE(s.takes_kwargs);
}

TEST(Signature, DefaultsAreKept) {
  Registry registry;
  registry.register_rpc("greet", [](const std::string&, const std::string&, std::int64_t) { return 0; },
                        {.params = {"name", param("greeting", "Hello"), param("times", 2)}});
  const Signature& s = signature(registry, "greet");
  ASSERT_EQ(s.params.size(), 3u);
  EXPECT_FALSE(s.params[0].default_value);
  ASSERT_TRUE(s.params[1].default_value);
  EXPECT_EQ(s.params[1].default_value->get().as<std::string>(), "Hello");
  ASSERT_TRUE(s.params[2].default_value);
  EXPECT_EQ(s.params[2].default_value->get().as<int>(), 2);
}

TEST(Signature, UnnamedParametersAreDescribedByTypeInOrder) {
  Registry registry;
  registry.register_rpc("f", [](bool, std::string_view, const Bytes&, const msgpack::object&, std::vector<int>,
                                const std::map<std::string, int>&, unsigned) { return 0; });
  const Signature& s = signature(registry, "f");
  EXPECT_EQ(names(s), (Strings(7, "")));
  EXPECT_EQ(types(s), (Strings{"bool", "str", "bytes", "any", "list", "dict", "int"}));
}

TEST(Signature, ArgsAndKwargsCollectorsAreFlagsNotParameters) {
  Registry registry;
  registry.register_rpc("both", [](int, const Args&, const Kwargs&) { return 0; }, {.params = {"first"}});
  registry.register_rpc("rest", [](const Args&) { return 0; });
  registry.register_rpc("keywords", [](const Kwargs&) { return 0; });
  const Signature& both = signature(registry, "both");
  EXPECT_EQ(names(both), (Strings{"first"}));
  EXPECT_TRUE(both.takes_args);
  EXPECT_TRUE(both.takes_kwargs);
  EXPECT_TRUE(signature(registry, "rest").params.empty());
  EXPECT_TRUE(signature(registry, "rest").takes_args);
  EXPECT_FALSE(signature(registry, "rest").takes_kwargs);
  EXPECT_FALSE(signature(registry, "keywords").takes_args);
  EXPECT_TRUE(signature(registry, "keywords").takes_kwargs);
}

TEST(Signature, ChannelAndIdentityAreFilledByPseudAndNeverListed) {
  Registry registry;
  registry.register_rpc("channel", [](ReplyChannel, int) {}, {.params = {"x"}});
  registry.register_rpc("caller", [](const Caller&, int) { return 0; }, {.params = {"x"}});
  registry.register_rpc("identity", [](const std::string&, int) { return 0; },
                        {.params = {"x"}, .with_identity = true});
  registry.register_rpc("all", [](ReplyChannel, const Bytes&, int, const Kwargs&) {},
                        {.params = {"x"}, .with_identity = true});
  // Without with_identity a leading std::string is an ordinary parameter.
  registry.register_rpc("plain", [](const std::string&, int) { return 0; });
  for (const char* name : {"channel", "caller", "identity", "all"}) {
    EXPECT_EQ(names(signature(registry, name)), (Strings{"x"})) << name;
    EXPECT_EQ(types(signature(registry, name)), (Strings{"int"})) << name;
  }
  EXPECT_TRUE(signature(registry, "all").takes_kwargs);
  EXPECT_EQ(types(signature(registry, "plain")), (Strings{"str", "int"}));
}

struct Calculator {
  int add(int a, int b) const { return a + b; }
};

TEST(Signature, MemberFunctionsAreDescribedWithoutTheirObject) {
  Registry registry;
  Calculator calculator;
  registry.register_rpc("calc.add", &Calculator::add, &calculator, {.params = {"a", param("b", 1)}});
  const Signature& s = signature(registry, "calc.add");
  EXPECT_EQ(names(s), (Strings{"a", "b"}));
  EXPECT_EQ(types(s), (Strings{"int", "int"}));
  EXPECT_TRUE(s.params[1].default_value);
}

// The wire shape of one pseud.inspect entry, as JSON-ish text for comparison.
std::string shape(const msgpack::object& o) {
  std::ostringstream out;
  out << o;
  return out.str();
}

TEST(Signature, IntrospectionEntriesKeepNameAndDocAndAddTheParameters) {
  Registry registry;
  registry.register_rpc("greet", [](const std::string&, const std::string&, const Kwargs&) { return 0; },
                        {.params = {"name", param("greeting", "Hello")}, .doc = "Greets."});
  registry.register_rpc("add", [](int, int) { return 0; });
  const auto listing = detail::introspection_listing(registry.visible_routes({}));
  EXPECT_EQ(shape(listing.get()),
            R"([{"name":"add","doc":"","params":[{"type":"int"},{"type":"int"}],"args":false,"kwargs":false},)"
            R"({"name":"greet","doc":"Greets.","params":[{"name":"name","type":"str"},)"
            R"({"name":"greeting","type":"str","default":"Hello"}],"args":false,"kwargs":true}])");
}

}  // namespace
}  // namespace pseud::test
