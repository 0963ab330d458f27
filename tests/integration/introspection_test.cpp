// pseud.inspect over the wire: one map per function the caller may call, with
// "name" and "doc" as pseud v1 peers always had them, and the parameters.

#include <map>
#include <sstream>

#include <gtest/gtest.h>

#include "pseud/pseud.hpp"
#include "test_support.hpp"

namespace pseud::test {
namespace {

// The listing a client gets, as text per function name.
std::map<std::string, std::string> inspect(Client& client) {
  const auto listing = client.call<msgpack::object_handle>(introspection_function, CallOptions{.timeout = bound});
  std::map<std::string, std::string> out;
  const msgpack::object& entries = listing.get();
  EXPECT_EQ(entries.type, msgpack::type::ARRAY);
  if (entries.type != msgpack::type::ARRAY) return out;
  for (std::uint32_t i = 0; i < entries.via.array.size; ++i) {
    const msgpack::object& entry = entries.via.array.ptr[i];
    std::ostringstream text;
    text << entry;
    out[entry.via.map.ptr[0].val.as<std::string>()] = text.str();
  }
  return out;
}

struct Fixture {
  Fixture() {
    server.register_rpc("add", [](int a, int b) { return a + b; }, {.params = {"a", param("b", 2)}, .doc = "a + b"});
    server.register_rpc("unnamed", [](double, const Bytes&) { return 0; }, {.doc = "no names"});
    server.register_rpc("collect", [](const msgpack::object&, const Args&, const Kwargs&) { return 0; },
                        {.params = {"first"}});
    server.register_rpc("later", [](ReplyChannel channel, const Caller&, int x) { channel.reply(x); },
                        {.params = {"x"}});
    server.register_rpc("secret", [](int) { return 0; }, {.domain = "hidden", .params = {"code"}});
    server.register_rpc("shared", [](bool) { return 0; }, {.domain = "open", .params = {"flag"}});
    server.registry().set_predicate("hidden", [](const PredicateArgs&) { return false; });
    server.registry().set_predicate("open", [](const PredicateArgs&) { return true; });
    client.connect(server.bind("tcp://127.0.0.1:*"));
  }
  Server server{"server"};
  Client client{"server"};
};

TEST(Introspection, ListsParametersBesideNameAndDoc) {
  Fixture f;
  const auto listing = inspect(f.client);
  EXPECT_EQ(listing.at("add"),
            R"({"name":"add","doc":"a + b","params":[{"name":"a","type":"int"},)"
            R"({"name":"b","type":"int","default":2}],"args":false,"kwargs":false})");
  EXPECT_EQ(listing.at("unnamed"),
            R"({"name":"unnamed","doc":"no names","params":[{"type":"float"},{"type":"bytes"}],)"
            R"("args":false,"kwargs":false})");
  EXPECT_EQ(listing.at("collect"),
            R"({"name":"collect","doc":"","params":[{"name":"first","type":"any"}],"args":true,"kwargs":true})");
  EXPECT_EQ(listing.at("later"),
            R"({"name":"later","doc":"","params":[{"name":"x","type":"int"}],"args":false,"kwargs":false})");
  EXPECT_EQ(listing.at(std::string(introspection_function)),
            R"({"name":"pseud.inspect","doc":"Lists the functions this caller may call, with their docs and )"
            R"(parameters.","params":[],"args":false,"kwargs":false})");
}

TEST(Introspection, FunctionsThePredicatesRefuseAreLeftOut) {
  Fixture f;
  const auto listing = inspect(f.client);
  EXPECT_EQ(listing.count("secret"), 0u);
  EXPECT_EQ(listing.at("shared"),
            R"({"name":"shared","doc":"","params":[{"name":"flag","type":"bool"}],"args":false,"kwargs":false})");
  EXPECT_EQ(listing.size(), 7u);  // add, unnamed, collect, later, shared, pseud.inspect, pseud.health
}

// What a pseud v1 client that knows only {name, doc} reads still reads.
struct OldEntry {
  std::string name;
  std::string doc;
  MSGPACK_DEFINE_MAP(name, doc)
};

TEST(Introspection, AReaderOfTheOldShapeStillGetsNameAndDoc) {
  Fixture f;
  const auto entries = f.client.call<std::vector<OldEntry>>(introspection_function, CallOptions{.timeout = bound});
  ASSERT_FALSE(entries.empty());
  EXPECT_EQ(entries[0].name, "add");
  EXPECT_EQ(entries[0].doc, "a + b");
}

}  // namespace
}  // namespace pseud::test
