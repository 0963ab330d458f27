// Typed commands (command.hpp): the map codec, field errors, the tagged
// form (OneOf), registration under the wire name with the process-wide
// table of names, handler and reply errors, and scoped registries.

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <gtest/gtest.h>

#include "pseud/command.hpp"
#include "pseud/detail/outgoing_call.hpp"
#include "pseud/registry.hpp"
#include "test_support.hpp"

namespace pseud::test {
namespace {

struct Add {
  using result = int;
  int a = 0;
  int b = 0;
  PSEUD_COMMAND("unit.calc.add", a, b);
  bool operator==(const Add&) const = default;
};

struct Mul {
  using result = int;
  int a = 0;
  int b = 0;
  PSEUD_COMMAND("unit.calc.mul", a, b);
  bool operator==(const Mul&) const = default;
};

struct Ping {
  PSEUD_COMMAND("unit.ping");
  bool operator==(const Ping&) const = default;
};

struct Point {
  double x = 0;
  double y = 0;
  PSEUD_COMMAND("unit.point", x, y);
  bool operator==(const Point&) const = default;
};

struct Shape {
  using result = std::string;
  std::string name;
  std::vector<Point> corners;
  std::optional<std::string> colour;
  Point centre;
  PSEUD_COMMAND("unit.shape", name, corners, colour, centre);
  bool operator==(const Shape&) const = default;
};

// Another C++ type that wants Add's wire name.
struct AddAgain {
  int a = 0;
  PSEUD_COMMAND("unit.calc.add", a);
};

// Its own wire name, claimed by one registration before another type tries it.
struct Claimed {
  PSEUD_COMMAND("unit.claimed");
};
struct ClaimedAgain {
  PSEUD_COMMAND("unit.claimed");
};

using Calculation = OneOf<Add, Mul, Ping>;

// Packs whatever `fill` writes into an owned msgpack value.
template <class F>
msgpack::object_handle value_of(F&& fill) {
  msgpack::sbuffer buffer;
  msgpack::packer<msgpack::sbuffer> packer(buffer);
  fill(packer);
  return msgpack::unpack(buffer.data(), buffer.size());
}

void key(msgpack::packer<msgpack::sbuffer>& p, std::string_view text) {
  p.pack_str(static_cast<std::uint32_t>(text.size()));
  p.pack_str_body(text.data(), static_cast<std::uint32_t>(text.size()));
}

template <class T>
std::string packed_hex(const T& value) {
  msgpack::sbuffer buffer;
  msgpack::pack(buffer, value);
  return hex_encode(std::string(buffer.data(), buffer.size()));
}

// The FieldError message decoding `value` as T gives; a failure when it decodes.
template <class T>
std::string field_error(const msgpack::object& value) {
  try {
    (void)value.as<T>();
  } catch (const FieldError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a FieldError, it decoded";
  return {};
}

// Runs `route`'s handler with one positional argument; returns the packed result.
msgpack::object_handle run(const Route& route, const msgpack::object& argument, const Caller& caller = {}) {
  detail::WireBuffer out;
  detail::Packer packer(out);
  route.handler(detail::Invocation{{route.name, &argument, 1, nullptr, 0}, &caller}, packer);
  return msgpack::unpack(out.data(), out.size());
}

// The ERROR a caller of `route` would get for `argument`: "name: message".
std::string run_error(const Route& route, const msgpack::object& argument) {
  try {
    run(route, argument);
  } catch (const RemoteError& e) {
    return e.name() + ": " + e.message();
  }
  ADD_FAILURE() << "expected a RemoteError, the handler succeeded";
  return {};
}

template <class F>
std::string usage_error(F&& f) {
  try {
    f();
  } catch (const UsageError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a UsageError";
  return {};
}

// ---- the codec -------------------------------------------------------------------

TEST(Commands, FieldNamesAndResultComeFromTheDeclaration) {
  EXPECT_EQ(command_name_v<Add>, "unit.calc.add");
  EXPECT_EQ((detail::CommandFields<Shape>::names),
            (std::array<std::string_view, 4>{"name", "corners", "colour", "centre"}));
  EXPECT_EQ(detail::CommandFields<Ping>::size, 0u);
  static_assert(std::is_same_v<command_result_t<Add>, int>);
  static_assert(std::is_same_v<command_result_t<Ping>, void>);
  static_assert(Command<Add> && !Command<std::string> && !Command<Calculation>);
}

TEST(Commands, WireNamesAreCheckedAtCompileTime) {
  static_assert(detail::valid_wire_name("calc.add") && detail::valid_wire_name("peek_plugin_tutorial.StringIntTuple"));
  static_assert(!detail::valid_wire_name("") && !detail::valid_wire_name(".a") && !detail::valid_wire_name("a."));
  static_assert(!detail::valid_wire_name("a..b") && !detail::valid_wire_name("a b") && !detail::valid_wire_name("*"));
  static_assert(detail::count_names(" a , b ") == 2 && detail::count_names("") == 0);
  static_assert(detail::split_names<2>(" a ,b")[1] == "b");
  static_assert(!detail::usable_field_names(std::array<std::string_view, 2>{"a", "a"}));
  static_assert(!detail::usable_field_names(std::array<std::string_view, 1>{"this->a"}));
  static_assert(!detail::usable_field_names(std::array<std::string_view, 1>{"__type__"}));
  static_assert(!detail::distinct_wire_names<Add, AddAgain>() && detail::distinct_wire_names<Add, Mul>());
}

TEST(Commands, PackAsAMapOfNamedFieldsInDeclarationOrder) {
  // {"a": 1, "b": 2}: what Python's msgpack packs for that dict.
  EXPECT_EQ(packed_hex(Add{1, 2}), "82a16101a16202");
  EXPECT_EQ(packed_hex(Ping{}), "80");
}

TEST(Commands, DecodeWhatTheyPackBothWays) {
  const Shape shape{"square", {{0, 0}, {0, 1.5}, {1.5, 1.5}, {1.5, 0}}, "red", {0.75, 0.75}};
  msgpack::sbuffer buffer;
  msgpack::pack(buffer, shape);
  EXPECT_EQ(msgpack::unpack(buffer.data(), buffer.size()).get().as<Shape>(), shape);
  msgpack::zone zone;
  const msgpack::object object(shape, zone);  // object_with_zone
  ASSERT_EQ(object.type, msgpack::type::MAP);
  EXPECT_EQ(object.as<Shape>(), shape);
  EXPECT_EQ(packed_hex(object), packed_hex(shape));
  const Shape without_colour{"dot", {}, std::nullopt, {}};
  EXPECT_EQ(msgpack::object(without_colour, zone).as<Shape>(), without_colour);
  EXPECT_EQ(msgpack::object(Ping{}, zone).as<Ping>(), Ping{});
}

TEST(Commands, ExtraKeysAreIgnoredForForwardCompatibility) {
  const auto value = value_of([](auto& p) {
    p.pack_map(5);
    key(p, "c");
    p.pack(std::string("a newer peer's field"));
    key(p, "b");
    p.pack(2);
    p.pack(7);  // a non-str key: not a field either
    p.pack(7);
    key(p, "a");
    p.pack(1);
    key(p, "__type__");
    p.pack(std::string("anything"));
  });
  EXPECT_EQ(value.get().as<Add>(), (Add{1, 2}));
}

TEST(Commands, ARepeatedKeyCountsAsItsLastValueAsInAPythonDict) {
  const auto value = value_of([](auto& p) {
    p.pack_map(3);
    key(p, "a");
    p.pack(1);
    key(p, "b");
    p.pack(2);
    key(p, "a");
    p.pack(10);
  });
  EXPECT_EQ(value.get().as<Add>(), (Add{10, 2}));
}

// ---- field errors ----------------------------------------------------------------

TEST(Commands, FieldErrorsNameTheCommandAndTheField) {
  EXPECT_EQ(field_error<Add>(value_of([](auto& p) { p.pack(std::vector<int>{1, 2}); }).get()),
            "unit.calc.add: expected a dict of its fields, got list");
  EXPECT_EQ(field_error<Add>(value_of([](auto& p) {
              p.pack_map(1);
              key(p, "a");
              p.pack(1);
            }).get()),
            "unit.calc.add: missing field 'b'");
  EXPECT_EQ(field_error<Add>(value_of([](auto& p) {
              p.pack_map(2);
              key(p, "a");
              p.pack(1);
              key(p, "b");
              p.pack(std::string("2"));
            }).get()),
            "unit.calc.add: field 'b' must be int, got str");
  EXPECT_EQ(field_error<Add>(value_of([](auto& p) {
              p.pack_map(2);
              key(p, "a");
              p.pack(std::int64_t{1} << 40);  // does not fit an int
              key(p, "b");
              p.pack(2);
            }).get()),
            "unit.calc.add: field 'a' must be int, got int");
  EXPECT_EQ(field_error<Add>(value_of([](auto& p) { p.pack_nil(); }).get()),
            "unit.calc.add: expected a dict of its fields, got None");
}

TEST(Commands, FieldErrorsInsideFieldsSayWhere) {
  auto shape = [](auto&& centre, auto&& colour) {
    return value_of([&](auto& p) {
      p.pack_map(4);
      key(p, "name");
      p.pack(std::string("s"));
      key(p, "corners");
      p.pack_array(0);
      key(p, "colour");
      colour(p);
      key(p, "centre");
      centre(p);
    });
  };
  auto good_centre = [](auto& p) { p.pack(Point{1, 2}); };
  // An optional field may be left out (a sender that predates it); the others may not.
  const auto without_colour = value_of([](auto& p) {
    p.pack_map(3);
    key(p, "name");
    p.pack(std::string("s"));
    key(p, "corners");
    p.pack_array(0);
    key(p, "centre");
    p.pack(Point{1, 2});
  });
  EXPECT_EQ(without_colour.get().as<Shape>(), (Shape{"s", {}, std::nullopt, {1, 2}}));
  auto no_colour = [](auto& p) { p.pack_nil(); };
  EXPECT_EQ(shape(good_centre, no_colour).get().as<Shape>(), (Shape{"s", {}, std::nullopt, {1, 2}}));
  EXPECT_EQ(field_error<Shape>(shape(good_centre, [](auto& p) { p.pack(3); }).get()),
            "unit.shape: field 'colour' must be str or None, got int");
  EXPECT_EQ(field_error<Shape>(shape(
                                   [](auto& p) {
                                     p.pack_map(1);
                                     key(p, "x");
                                     p.pack(1);
                                   },
                                   no_colour)
                                   .get()),
            "unit.shape: field 'centre': unit.point: missing field 'y'");
  EXPECT_EQ(field_error<Shape>(shape([](auto& p) { p.pack(std::string("middle")); }, no_colour).get()),
            "unit.shape: field 'centre': unit.point: expected a dict of its fields, got str");
}

TEST(Commands, AFieldErrorIsAMsgpackTypeError) {
  const auto value = value_of([](auto& p) { p.pack(1); });
  EXPECT_THROW((void)value.get().as<Add>(), msgpack::type_error);
}

TEST(Commands, AReplyThatDoesNotDecodeIsAConversionErrorNamingTheField) {
  const auto reply = value_of([](auto& p) {
    p.pack_map(1);
    key(p, "a");
    p.pack(1);
  });
  try {
    (void)detail::convert_reply<Add>(reply.get());
    ADD_FAILURE() << "expected a ConversionError";
  } catch (const ConversionError& e) {
    EXPECT_STREQ(e.what(), "the reply does not convert to the requested C++ type: unit.calc.add: missing field 'b'");
  }
}

// ---- the tagged form -------------------------------------------------------------

TEST(Commands, OneOfPacksTheTagFirst) {
  // {"__type__": "unit.calc.mul", "a": 3, "b": 4}
  EXPECT_EQ(packed_hex(Calculation(Mul{3, 4})), "83a85f5f747970655f5fad756e69742e63616c632e6d756ca16103a16204");
  msgpack::zone zone;
  EXPECT_EQ(packed_hex(msgpack::object(Calculation(Mul{3, 4}), zone)), packed_hex(Calculation(Mul{3, 4})));
}

TEST(Commands, OneOfDecodesTheAlternativeItsTagNames) {
  for (const Calculation& sent : {Calculation(Add{1, 2}), Calculation(Mul{3, 4}), Calculation(Ping{})}) {
    msgpack::sbuffer buffer;
    msgpack::pack(buffer, sent);
    const auto received = msgpack::unpack(buffer.data(), buffer.size()).get().as<Calculation>();
    EXPECT_EQ(received, sent);
    EXPECT_EQ(received.wire_name(), sent.wire_name());
  }
  const auto mul = value_of([](auto& p) { p.pack(Calculation(Mul{6, 7})); }).get().as<Calculation>();
  ASSERT_TRUE(std::holds_alternative<Mul>(mul));
  EXPECT_EQ(std::get<Mul>(mul), (Mul{6, 7}));
  const int value = std::visit(
      [](const auto& command) {
        if constexpr (std::is_same_v<std::remove_cvref_t<decltype(command)>, Ping>) {
          return 0;
        } else {
          return command.a * command.b;
        }
      },
      mul);
  EXPECT_EQ(value, 42);
}

TEST(Commands, OneOfRefusesWhatItCannotPlace) {
  const std::string label = "OneOf<unit.calc.add, unit.calc.mul, unit.ping>";
  auto tagged = [](auto&& tag) {
    return value_of([&](auto& p) {
      p.pack_map(1);
      key(p, "__type__");
      tag(p);
    });
  };
  EXPECT_EQ(field_error<Calculation>(value_of([](auto& p) { p.pack(std::string("unit.ping")); }).get()),
            label + ": expected a dict with a \"__type__\" key, got str");
  EXPECT_EQ(field_error<Calculation>(value_of([](auto& p) { p.pack_map(0); }).get()),
            label + ": missing field '__type__' (the wire name of the command)");
  EXPECT_EQ(field_error<Calculation>(tagged([](auto& p) { p.pack(1); }).get()),
            label + ": field '__type__' must be str, got int");
  EXPECT_EQ(field_error<Calculation>(tagged([](auto& p) { p.pack(Bytes(std::string("unit.ping"))); }).get()),
            label + ": field '__type__' must be str, got bytes");
  EXPECT_EQ(field_error<Calculation>(tagged([](auto& p) { p.pack(std::string("unit.calc.div")); }).get()),
            label + ": unknown command type 'unit.calc.div' in field '__type__'");
  EXPECT_EQ(field_error<Calculation>(tagged([](auto& p) { p.pack(std::string("it's\n\xff")); }).get()),
            label + ": unknown command type 'it\\x27s\\x0a\\xff' in field '__type__'");
  EXPECT_EQ(field_error<Calculation>(tagged([](auto& p) { p.pack(std::string(100000, 'x')); }).get()),
            label + ": unknown command type '" + std::string(64, 'x') +
                "' (100000 bytes, the first 64 shown) in field '__type__'");
  // The tag chose Add: its own fields are checked.
  EXPECT_EQ(field_error<Calculation>(tagged([](auto& p) { p.pack(std::string("unit.calc.add")); }).get()),
            "unit.calc.add: missing field 'a'");
}

// ---- registration ----------------------------------------------------------------

TEST(Commands, RegisterCommandRegistersUnderTheWireName) {
  Registry registry;
  registry.register_command<Add>([](const Add& add) { return add.a + add.b; }, {.doc = "a + b"});
  const auto route = registry.lookup("unit.calc.add", {});
  ASSERT_NE(route, nullptr);
  EXPECT_EQ(route->doc, "a + b");
  ASSERT_EQ(route->signature.params.size(), 1u);
  EXPECT_EQ(route->signature.params[0].name, "command");
  EXPECT_EQ(route->signature.params[0].type, "dict");
  msgpack::zone zone;
  EXPECT_EQ(run(*route, msgpack::object(Add{40, 2}, zone)).get().as<int>(), 42);
}

TEST(Commands, TheFunctionMayTakeTheCallerOrItsIdentityFirst) {
  Registry registry;
  registry.register_command<Ping>([](const Caller& caller, Ping) { return caller.identity(); });
  registry.register_command<Mul>([](const std::string& who, Mul mul) { return static_cast<int>(who.size()) * mul.a; },
                                 {.with_identity = true});
  Caller caller{"client-1", "", {}};
  msgpack::zone zone;
  EXPECT_EQ(run(*registry.lookup("unit.ping", {}), msgpack::object(Ping{}, zone), caller).get().as<std::string>(),
            "client-1");
  EXPECT_EQ(run(*registry.lookup("unit.calc.mul", {}), msgpack::object(Mul{2, 0}, zone), caller).get().as<int>(), 16);
  // Without with_identity, a string before the command is a second regular parameter: refused.
  EXPECT_NE(usage_error([&] { registry.register_command<Mul>([](const std::string&, Mul) { return 0; }); })
                .find("takes the command as its one regular parameter"),
            std::string::npos);
}

TEST(Commands, AnotherTypeUnderATakenWireNameIsRefusedNamingBoth) {
  Registry first;
  Registry second;
  first.register_command<Claimed>([](Claimed) {});
  const std::string message = usage_error([&] { second.register_command<ClaimedAgain>([](ClaimedAgain) {}); });
  EXPECT_NE(message.find("register_command<pseud::test::(anonymous namespace)::ClaimedAgain>"), std::string::npos)
      << message;
  EXPECT_NE(message.find("the wire name 'unit.claimed' belongs to pseud::test::(anonymous namespace)::Claimed"),
            std::string::npos)
      << message;
  EXPECT_EQ(second.lookup("unit.claimed", {}), nullptr);
  // Anywhere in the process, not only in one registry.
  EXPECT_THROW(global_registry().register_command<ClaimedAgain>([](ClaimedAgain) {}), UsageError);
}

TEST(Commands, TheSameTypeAgainReplacesItsFunction) {
  Registry registry;
  registry.register_command<Add>([](Add add) { return add.a + add.b; });
  registry.register_command<Add>([](Add add) { return add.a - add.b; });
  msgpack::zone zone;
  EXPECT_EQ(run(*registry.lookup("unit.calc.add", {}), msgpack::object(Add{5, 3}, zone)).get().as<int>(), 2);
  // AddAgain wants the same name: refused, and Add's function stays.
  EXPECT_THROW(registry.register_command<AddAgain>([](AddAgain) {}), UsageError);
  EXPECT_EQ(run(*registry.lookup("unit.calc.add", {}), msgpack::object(Add{5, 3}, zone)).get().as<int>(), 2);
}

TEST(Commands, AnArgumentThatDoesNotDecodeIsATypeErrorNamingCommandAndField) {
  Registry registry;
  registry.register_command<Add>([](Add add) { return add.a + add.b; });
  registry.register_rpc("unit.calculate", [](const Calculation& c) { return std::string(c.wire_name()); },
                        {.params = {"calculation"}});
  const auto add = registry.lookup("unit.calc.add", {});
  const auto missing = value_of([](auto& p) {
    p.pack_map(1);
    key(p, "a");
    p.pack(1);
  });
  EXPECT_EQ(run_error(*add, missing.get()), "TypeError: unit.calc.add() argument 'command': unit.calc.add: missing field 'b'");
  const auto mistyped = value_of([](auto& p) {
    p.pack_map(2);
    key(p, "a");
    p.pack(true);
    key(p, "b");
    p.pack(1);
  });
  EXPECT_EQ(run_error(*add, mistyped.get()),
            "TypeError: unit.calc.add() argument 'command': unit.calc.add: field 'a' must be int, got bool");
  const auto calculate = registry.lookup("unit.calculate", {});
  const auto unknown = value_of([](auto& p) {
    p.pack_map(1);
    key(p, "__type__");
    p.pack(std::string("unit.calc.pow"));
  });
  EXPECT_EQ(run_error(*calculate, unknown.get()),
            "TypeError: unit.calculate() argument 'calculation': OneOf<unit.calc.add, unit.calc.mul, unit.ping>: "
            "unknown command type 'unit.calc.pow' in field '__type__'");
  msgpack::zone zone;
  EXPECT_EQ(run(*calculate, msgpack::object(Calculation(Ping{}), zone)).get().as<std::string>(), "unit.ping");
}

// A function with declared exceptions answers undeclared ones with a Nack;
// an argument that does not decode is the caller's TypeError all the same.
TEST(Commands, FieldErrorsStayTypeErrorsWithDeclaredExceptions) {
  Registry registry;
  registry.register_command<Add>([](Add add) { return add.a + add.b; },
                                 {.raises = {raises<std::invalid_argument>()}});
  EXPECT_EQ(run_error(*registry.lookup("unit.calc.add", {}), value_of([](auto& p) { p.pack_map(0); }).get()),
            "TypeError: unit.calc.add() argument 'command': unit.calc.add: missing field 'a'");
}

// ---- scoped registries -----------------------------------------------------------

TEST(ScopedRegistry, PrefixesEveryNameItRegisters) {
  Registry registry;
  ScopedRegistry plugin = registry.scoped("peek_plugin_tutorial");
  EXPECT_EQ(plugin.prefix(), "peek_plugin_tutorial");
  plugin.register_rpc("add", [](int a, int b) { return a + b; });
  struct Counter {
    int value = 0;
    int next() { return ++value; }
    int get() const { return value; }
  } counter;
  plugin.register_service("counter", counter, method("next", &Counter::next), method("get", &Counter::get));
  plugin.register_service("", counter, method("count", &Counter::get));
  plugin.register_rpc("get_direct", &Counter::get, &counter);
  plugin.register_command<Mul>([](Mul mul) { return mul.a * mul.b; });
  plugin.scoped("inner").scoped("most").register_rpc("deep", [] { return 1; });

  std::vector<std::string> names;
  for (const auto& route : registry.visible_routes({})) names.push_back(route->name);
  EXPECT_EQ(names, (std::vector<std::string>{"peek_plugin_tutorial.add", "peek_plugin_tutorial.count",
                                             "peek_plugin_tutorial.counter.get", "peek_plugin_tutorial.counter.next",
                                             "peek_plugin_tutorial.get_direct", "peek_plugin_tutorial.inner.most.deep",
                                             "peek_plugin_tutorial.unit.calc.mul"}));
  EXPECT_EQ(registry.lookup("add", {}), nullptr);
  EXPECT_EQ(registry.lookup("unit.calc.mul", {}), nullptr);

  EXPECT_TRUE(plugin.unregister_rpc("add"));
  EXPECT_FALSE(plugin.unregister_rpc("add"));
  EXPECT_EQ(registry.lookup("peek_plugin_tutorial.add", {}), nullptr);
  EXPECT_NE(registry.lookup("peek_plugin_tutorial.counter.next", {}), nullptr);
}

TEST(ScopedRegistry, DomainsAndOptionsPassThrough) {
  Registry registry;
  registry.scoped("plugin").register_rpc("secret", [] { return 1; }, {.domain = "admin", .doc = "hidden"});
  registry.set_predicate("admin", [](const PredicateArgs& a) { return a.has_permission("admin"); });
  EXPECT_EQ(registry.lookup("plugin.secret", {}), nullptr);
  PredicateArgs admin;
  admin.permissions = {"admin"};
  const auto route = registry.lookup("plugin.secret", admin);
  ASSERT_NE(route, nullptr);
  EXPECT_EQ(route->doc, "hidden");
  EXPECT_TRUE(registry.scoped("plugin").unregister_rpc("secret", "admin"));
}

TEST(ScopedRegistry, RefusesPrefixesThatCannotPrefix) {
  Registry registry;
  for (const char* prefix : {"", ".a", "a.", "a..b", "*", "a.*"}) {
    const std::string message = usage_error([&] { (void)registry.scoped(prefix); });
    EXPECT_NE(message.find("scoped('" + std::string(prefix) + "'): a scope is non-empty dot-separated parts"),
              std::string::npos)
        << message;
  }
  const ScopedRegistry plugin = registry.scoped("a.b");
  EXPECT_THROW((void)plugin.scoped(""), UsageError);
  EXPECT_THROW((void)plugin.scoped(".c"), UsageError);
  EXPECT_EQ(plugin.scoped("c").prefix(), "a.b.c");
}

}  // namespace
}  // namespace pseud::test
