// Typed commands between a Server and a Client in one process over
// tcp://127.0.0.1: register_command + execute in each call form, field
// errors from plain calls, the tagged form, results that are commands, and
// a scoped registry seen through a real pseud.inspect.

#include <algorithm>
#include <atomic>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include <gtest/gtest.h>

#include "pseud/pseud.hpp"
#include "test_support.hpp"

namespace pseud::test {
namespace {

struct Add {
  using result = int;
  int a = 0;
  int b = 0;
  PSEUD_COMMAND("it.calc.add", a, b);
};

struct Mul {
  using result = int;
  int a = 0;
  int b = 0;
  PSEUD_COMMAND("it.calc.mul", a, b);
};

struct Square {  // answered by a coroutine
  using result = long long;
  long long x = 0;
  PSEUD_COMMAND("it.calc.square", x);
};

struct Reset {  // no fields, no result
  PSEUD_COMMAND("it.calc.reset");
};

struct Point {
  double x = 0;
  double y = 0;
  PSEUD_COMMAND("it.point", x, y);
  bool operator==(const Point&) const = default;
};

// A command whose result is a command.
struct Midpoint {
  using result = Point;
  Point from;
  Point to;
  PSEUD_COMMAND("it.midpoint", from, to);
};

using Calculation = OneOf<Add, Mul>;

// A command holding tagged commands.
struct Batch {
  using result = std::vector<int>;
  std::vector<Calculation> steps;
  PSEUD_COMMAND("it.calc.batch", steps);
};

// Registered with plain register_rpc, answering a map without "y".
struct BrokenPoint {
  using result = Point;
  PSEUD_COMMAND("it.broken_point");
};

int evaluate(const Calculation& calculation) {
  return std::visit(
      [](const auto& c) {
        if constexpr (std::is_same_v<std::remove_cvref_t<decltype(c)>, Add>) {
          return c.a + c.b;
        } else {
          return c.a * c.b;
        }
      },
      calculation);
}

struct Fixture {
  Fixture() {
    server.register_command<Add>([](const Add& add) { return add.a + add.b; });
    server.register_command<Mul>([](Mul mul) { return mul.a * mul.b; }, {.doc = "a * b"});
    server.register_command<Reset>([this](Reset) { ++resets; });
    server.register_command<Square>([](Square s) -> Task<long long> { co_return s.x * s.x; });
    server.register_command<Midpoint>([](const Midpoint& m) {
      return Point{(m.from.x + m.to.x) / 2, (m.from.y + m.to.y) / 2};
    });
    server.register_command<Batch>([](const Batch& batch) {
      std::vector<int> results;
      for (const Calculation& step : batch.steps) results.push_back(evaluate(step));
      return results;
    });
    server.register_rpc("it.calculate", [](const Calculation& c) { return evaluate(c); }, {.params = {"calculation"}});
    server.register_rpc(std::string(command_name_v<BrokenPoint>), [](const msgpack::object&) {
      return std::map<std::string, double>{{"x", 1}};
    });
    client.connect(server.bind("tcp://127.0.0.1:*"));
  }

  // The ERROR of a call that must fail: "name: message".
  template <class F>
  static std::string remote_error(F&& call) {
    try {
      call();
    } catch (const RemoteError& e) {
      return e.name() + ": " + e.message();
    }
    ADD_FAILURE() << "expected a RemoteError, the call succeeded";
    return {};
  }

  std::atomic<int> resets{0};
  Server server{"server"};
  Client client{"server"};
};

TEST(TypedCommands, ExecuteCallsTheFunctionRegisteredUnderTheWireName) {
  Fixture f;
  EXPECT_EQ(f.client.execute(Add{1, 2}), 3);
  EXPECT_EQ(f.client.execute(Mul{6, 7}, {.timeout = bound}), 42);
  static_assert(std::is_void_v<decltype(f.client.execute(Reset{}))>);
  f.client.execute(Reset{});
  EXPECT_EQ(f.resets.load(), 1);
  EXPECT_EQ(f.client.execute(Midpoint{{0, 0}, {2, 4}}), (Point{1, 2}));
  EXPECT_EQ(f.client.execute(Square{-12}), 144);
  // The server calls its client the same way (send_to gives a Target).
  f.client.register_command<Add>([](Add add) { return 100 * (add.a + add.b); });
  f.client.call<void>(introspection_function);  // the connection is known to the server now
  ASSERT_TRUE(eventually([&] { return !f.server.connected_peers().empty(); }));
  EXPECT_EQ(f.server.send_to(f.server.connected_peers().front().routing_id).execute(Add{1, 1}), 200);
}

TEST(TypedCommands, ExecuteAsyncAndCoExecute) {
  Fixture f;
  std::future<int> sum = f.client.execute_async(Add{20, 22});
  std::future<Point> middle = f.client.execute_async(Midpoint{{0, 0}, {1, 1}}, {.timeout = bound});
  EXPECT_EQ(get_within(sum), 42);
  EXPECT_EQ(get_within(middle), (Point{0.5, 0.5}));
  auto product = [&f]() -> Task<int> { co_return co_await f.client.co_execute(Mul{3, 5}); };
  EXPECT_EQ(sync_wait(product()), 15);
  auto reset = [&f]() -> Task<void> { co_await f.client.co_execute(Reset{}, {.timeout = bound}); };
  sync_wait(reset());
  EXPECT_EQ(f.resets.load(), 1);
}

// What a Python peer does: a dict as the one argument, positional or by name.
TEST(TypedCommands, APlainCallWithADictReachesTheCommand) {
  Fixture f;
  const std::map<std::string, int> fields{{"a", 1}, {"b", 2}, {"c", 99}};  // "c": an extra key, ignored
  EXPECT_EQ(f.client.call<int>("it.calc.add", fields), 3);
  EXPECT_EQ(f.client.call<int>("it.calc.add", kw("command", fields)), 3);
}

TEST(TypedCommands, AMissingOrMistypedFieldIsATypeErrorNamingIt) {
  Fixture f;
  EXPECT_EQ(f.remote_error([&] { f.client.call<int>("it.calc.add", std::map<std::string, int>{{"a", 1}}); }),
            "TypeError: it.calc.add() argument 'command': it.calc.add: missing field 'b'");
  EXPECT_EQ(f.remote_error([&] {
              f.client.call<int>("it.calc.add", std::map<std::string, std::string>{{"a", "1"}, {"b", "2"}});
            }),
            "TypeError: it.calc.add() argument 'command': it.calc.add: field 'a' must be int, got str");
  EXPECT_EQ(f.remote_error([&] { f.client.call<int>("it.calc.add", std::vector<int>{1, 2}); }),
            "TypeError: it.calc.add() argument 'command': it.calc.add: expected a dict of its fields, got list");
  EXPECT_EQ(f.remote_error([&] {
              f.client.call<Point>("it.midpoint", std::map<std::string, std::map<std::string, int>>{
                                                      {"from", {{"x", 0}, {"y", 0}}}, {"to", {{"x", 1}}}});
            }),
            "TypeError: it.midpoint() argument 'command': it.midpoint: field 'to': it.point: missing field 'y'");
  EXPECT_EQ(f.client.execute(Add{2, 2}), 4);  // and the server goes on
}

TEST(TypedCommands, AResultThatDoesNotDecodeIsAConversionErrorNamingTheField) {
  Fixture f;
  try {
    f.client.execute(BrokenPoint{});
    ADD_FAILURE() << "expected a ConversionError";
  } catch (const ConversionError& e) {
    EXPECT_STREQ(e.what(), "the reply does not convert to the requested C++ type: it.point: missing field 'y'");
  }
  std::future<Point> broken = f.client.execute_async(BrokenPoint{});
  ASSERT_EQ(broken.wait_for(bound), std::future_status::ready);
  EXPECT_THROW(broken.get(), ConversionError);
}

TEST(TypedCommands, TheTaggedFormDispatchesOnItsTag) {
  Fixture f;
  EXPECT_EQ(f.client.call<int>("it.calculate", Calculation(Add{1, 2})), 3);
  EXPECT_EQ(f.client.call<int>("it.calculate", Calculation(Mul{6, 7})), 42);
  EXPECT_EQ(f.client.execute(Batch{{Add{1, 2}, Mul{3, 4}, Add{5, 6}}}), (std::vector<int>{3, 12, 11}));
  // By hand, as a Python peer would write it: {"__type__": "it.calc.mul", "a": 6, "b": 7}.
  const std::map<std::string, msgpack::object> by_hand{
      {"__type__", msgpack::object(std::string_view("it.calc.mul"))}, {"a", msgpack::object(6)}, {"b", msgpack::object(7)}};
  EXPECT_EQ(f.client.call<int>("it.calculate", by_hand), 42);
  const std::map<std::string, std::string> unknown{{"__type__", "it.calc.pow"}, {"a", "2"}};
  EXPECT_EQ(f.remote_error([&] { f.client.call<int>("it.calculate", unknown); }),
            "TypeError: it.calculate() argument 'calculation': OneOf<it.calc.add, it.calc.mul>: unknown command "
            "type 'it.calc.pow' in field '__type__'");
  EXPECT_EQ(f.remote_error([&] { f.client.call<int>("it.calculate", std::map<std::string, int>{{"a", 1}}); }),
            "TypeError: it.calculate() argument 'calculation': OneOf<it.calc.add, it.calc.mul>: missing field "
            "'__type__' (the wire name of the command)");
  EXPECT_EQ(f.remote_error([&] {
              f.client.call<int>("it.calculate", std::map<std::string, int>{{"__type__", 7}, {"a", 1}});
            }),
            "TypeError: it.calculate() argument 'calculation': OneOf<it.calc.add, it.calc.mul>: field '__type__' "
            "must be str, got int");
  EXPECT_EQ(f.client.call<int>("it.calculate", Calculation(Add{1, 1})), 2);
}

TEST(TypedCommands, AnotherTypeCannotTakeARegisteredWireName) {
  Fixture f;
  struct AddToo {
    PSEUD_COMMAND("it.calc.add");
  };
  Client other("server");
  EXPECT_THROW(other.register_command<AddToo>([](AddToo) {}), UsageError);
  EXPECT_THROW(other.scoped("elsewhere").register_command<AddToo>([](AddToo) {}), UsageError);
  EXPECT_EQ(f.client.execute(Add{1, 2}), 3);
}

// The scoped registry and introspection over the wire.
std::vector<std::string> inspected_names(Client& client) {
  const auto listing = client.call(introspection_function, CallOptions{.timeout = bound});
  std::vector<std::string> names;
  for (const auto& entry : listing.get().as<std::vector<std::map<std::string, msgpack::object>>>()) {
    names.push_back(entry.at("name").as<std::string>());
  }
  return names;
}

TEST(TypedCommands, AScopedRegistryPrefixesNamesAndInspectShowsThem) {
  Server server("server");
  ScopedRegistry plugin = server.scoped("peek_plugin_tutorial");
  plugin.register_rpc("greet", [](const std::string& name) { return "Hello, " + name; }, {.params = {"name"}});
  plugin.scoped("admin").register_rpc("reset", [] { return true; });
  plugin.register_command<Add>([](Add add) { return add.a + add.b; }, {.doc = "a + b, in the plugin"});
  Client client("server");
  client.connect(server.bind("tcp://127.0.0.1:*"));

  const std::vector<std::string> names = inspected_names(client);
  for (const char* name : {"peek_plugin_tutorial.greet", "peek_plugin_tutorial.admin.reset",
                           "peek_plugin_tutorial.it.calc.add"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), name), names.end()) << name;
  }
  for (const char* name : {"greet", "reset", "it.calc.add"}) {
    EXPECT_EQ(std::find(names.begin(), names.end(), name), names.end()) << name;
  }
  EXPECT_EQ(client.call<std::string>("peek_plugin_tutorial.greet", std::string("bob")), "Hello, bob");
  EXPECT_TRUE(client.call<bool>("peek_plugin_tutorial.admin.reset"));
  EXPECT_EQ(client.execute("peek_plugin_tutorial", Add{1, 2}), 3);
  std::future<int> later = client.execute_async("peek_plugin_tutorial", Add{2, 2});
  EXPECT_EQ(get_within(later), 4);
  auto in_coroutine = [&client]() -> Task<int> { co_return co_await client.co_execute("peek_plugin_tutorial", Add{3, 3}); };
  EXPECT_EQ(sync_wait(in_coroutine()), 6);
  EXPECT_THROW(client.execute(Add{1, 2}), ServiceNotFoundError);  // only the scoped name exists
  EXPECT_TRUE(plugin.unregister_rpc("greet"));
  EXPECT_THROW(client.call<std::string>("peek_plugin_tutorial.greet", std::string("bob")), ServiceNotFoundError);
}

}  // namespace
}  // namespace pseud::test
