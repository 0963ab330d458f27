// Handlers as a caller sees them: deduced arguments, keyword arguments with
// defaults, **extra collection, the raw form, with_identity, and the Python
// class names a handler's C++ exception is reported as.

#include <map>
#include <optional>
#include <stdexcept>
#include <system_error>

#include <gtest/gtest.h>

#include "pseud/pseud.hpp"
#include "test_support.hpp"

namespace pseud::test {
namespace {

struct Greeting {
  std::string text;
  std::map<std::string, std::string> extra;
  MSGPACK_DEFINE_MAP(text, extra)
};

struct Point {
  int x = 0;
  int y = 0;
  MSGPACK_DEFINE_MAP(x, y)
};

class Handlers : public ::testing::Test {
 protected:
  void SetUp() override { client_.connect(server_.bind("tcp://127.0.0.1:*")); }

  Server server_{"server"};
  Client client_{"server"};
};

TEST_F(Handlers, KeywordArgumentsWithDefaultsAndExtraCollection) {
  server_.register_rpc(
      "greet",
      [](const std::string& name, const std::string& greeting, const std::string& punctuation, const Kwargs& extra) {
        Greeting g{greeting + ", " + name + punctuation, {}};
        for (const auto& [key, value] : extra) g.extra[std::string(key)] = value->as<std::string>();
        return g;
      },
      {.params = {"name", param("greeting", "Hello"), param("punctuation", "!")}});

  auto plain = client_.call<Greeting>("greet", "bob");
  EXPECT_EQ(plain.text, "Hello, bob!");
  EXPECT_TRUE(plain.extra.empty());

  auto mixed = client_.call<Greeting>("greet", "bob", kw("greeting", "Hi", "mood", "calm"));
  EXPECT_EQ(mixed.text, "Hi, bob!");
  EXPECT_EQ(mixed.extra, (std::map<std::string, std::string>{{"mood", "calm"}}));

  auto by_name = client_.call<Greeting>("greet", kw("punctuation", "?", "name", "ann"));
  EXPECT_EQ(by_name.text, "Hello, ann?");
}

TEST_F(Handlers, BindingErrorsAreTypeErrorsWithPythonWording) {
  server_.register_rpc("add", [](int a, int b) { return a + b; }, {.params = {"a", "b"}});
  auto expect_type_error = [&](auto&& call, std::string_view fragment) {
    try {
      call();
      ADD_FAILURE() << "expected TypeError containing " << fragment;
    } catch (const RemoteError& e) {
      EXPECT_EQ(e.name(), "TypeError");
      EXPECT_NE(e.message().find(fragment), std::string::npos) << e.message();
    }
  };
  expect_type_error([&] { client_.call<int>("add", 1); }, "missing 1 required argument: 'b'");
  expect_type_error([&] { client_.call<int>("add", 1, 2, 3); }, "takes 2 positional arguments but 3 were given");
  expect_type_error([&] { client_.call<int>("add", 1, 2, kw("c", 3)); }, "unexpected keyword argument 'c'");
  expect_type_error([&] { client_.call<int>("add", 1, kw("a", 3)); }, "multiple values for argument 'a'");
  expect_type_error([&] { client_.call<int>("add", "one", 2); }, "argument 'a' must be int");
  EXPECT_EQ(client_.call<int>("add", kw("b", 2, "a", 40)), 42);
}

TEST_F(Handlers, PositionalOnlyHandlerRefusesKeywords) {
  server_.register_rpc("neg", [](int a) { return -a; });
  EXPECT_EQ(client_.call<int>("neg", 5), -5);
  try {
    client_.call<int>("neg", kw("a", 5));
    FAIL() << "expected TypeError";
  } catch (const RemoteError& e) {
    EXPECT_EQ(e.name(), "TypeError");
  }
}

TEST_F(Handlers, RawFormSeesEveryArgument) {
  server_.register_rpc("echo_args", [](const Args& args, const Kwargs& kwargs) {
    std::map<std::string, msgpack::object> out_kwargs;
    for (const auto& [key, value] : kwargs) out_kwargs.emplace(std::string(key), *value);
    std::vector<msgpack::object> out_args(args.begin(), args.end());
    msgpack::sbuffer packed;
    msgpack::packer<msgpack::sbuffer> packer(packed);
    packer.pack_map(2);
    packer.pack(std::string("args"));
    packer.pack(out_args);
    packer.pack(std::string("kwargs"));
    packer.pack(out_kwargs);
    return msgpack::unpack(packed.data(), packed.size());
  });
  auto result = client_.call("echo_args", 1, "two", Bytes("3"), kw("four", 4.0));
  auto as_map = result.get().as<std::map<std::string, msgpack::object>>();
  auto args = as_map.at("args").as<std::vector<msgpack::object>>();
  ASSERT_EQ(args.size(), 3u);
  EXPECT_EQ(args[0].as<int>(), 1);
  EXPECT_EQ(args[1].type, msgpack::type::STR);
  EXPECT_EQ(args[2].type, msgpack::type::BIN);
  using DoubleMap = std::map<std::string, double>;
  EXPECT_EQ(as_map.at("kwargs").as<DoubleMap>().at("four"), 4.0);
}

TEST_F(Handlers, ExtraPositionalsGoToArgs) {
  server_.register_rpc("count", [](int first, const Args& rest) { return first + static_cast<int>(rest.size()); });
  EXPECT_EQ(client_.call<int>("count", 10, "a", "b", "c"), 13);
  EXPECT_EQ(client_.call<int>("count", 10), 10);
}

TEST_F(Handlers, UserTypesRoundTripAsMaps) {
  server_.register_rpc("mirror", [](Point p) { return Point{p.y, p.x}; });
  const Point p = client_.call<Point>("mirror", Point{1, 2});
  EXPECT_EQ(p.x, 2);
  EXPECT_EQ(p.y, 1);
}

TEST_F(Handlers, VoidHandlerReturnsNil) {
  int seen = 0;
  server_.register_rpc("touch", [&seen](int v) { seen = v; });
  client_.call<void>("touch", 7);
  EXPECT_EQ(seen, 7);
  EXPECT_TRUE(client_.call("touch", 8).get().is_nil());
}

TEST_F(Handlers, BytesAndTextKeepTheirMsgpackFamilies) {
  server_.register_rpc("kinds", [](const Bytes& b, const std::string& s) {
    return std::make_tuple(Bytes(b.data + "!"), s + "!");
  });
  auto result = client_.call("kinds", Bytes(std::string("\x00\xff", 2)), std::string("é"));
  const auto& array = result.get().via.array;
  ASSERT_EQ(array.size, 2u);
  EXPECT_EQ(array.ptr[0].type, msgpack::type::BIN);
  EXPECT_EQ(array.ptr[0].as<Bytes>().data, std::string("\x00\xff!", 3));
  EXPECT_EQ(array.ptr[1].type, msgpack::type::STR);
  EXPECT_EQ(array.ptr[1].as<std::string>(), "é!");
}

TEST_F(Handlers, LargestUnsignedRoundTrips) {
  server_.register_rpc("same", [](std::uint64_t v) { return v; });
  EXPECT_EQ(client_.call<std::uint64_t>("same", UINT64_MAX), UINT64_MAX);
}

TEST_F(Handlers, ExtTypesStayOpaque) {
  const auto echo_ext = [](const msgpack::object& o) {
    if (o.type != msgpack::type::EXT) throw std::invalid_argument("not an ext");
    return msgpack::type::ext(o.via.ext.type(), o.via.ext.data(), o.via.ext.size);
  };
  server_.register_rpc("ext", echo_ext);
  const msgpack::type::ext other(42, "xy", 2);
  auto back = client_.call<msgpack::type::ext>("ext", other);
  EXPECT_EQ(back.type(), 42);
  EXPECT_EQ(std::string(back.data(), back.size()), "xy");
  // Python pseud's pickled codes (123..126) travel between peers that allow them.
  PeerOptions allow;
  allow.allow_python_ext = true;
  Server server("server", allow);
  server.register_rpc("ext", echo_ext);
  Client client("server", allow);
  client.connect(server.bind("tcp://127.0.0.1:*"));
  const msgpack::type::ext pickled(125, "\x80\x05junk", 6);
  back = client.call<msgpack::type::ext>("ext", pickled);
  EXPECT_EQ(back.type(), 125);
  EXPECT_EQ(std::string(back.data(), back.size()), std::string("\x80\x05junk", 6));
}

// By default they are refused (a Python peer unpickles them): a call before
// anything is sent, a handler's result with a TypeError reply.
TEST_F(Handlers, PythonsPickledExtCodesAreRefusedByDefault) {
  server_.register_rpc("forged_when", [] { return msgpack::type::ext(125, "junk", 4); });
  server_.register_rpc("echo", [](const msgpack::object& o) { return o; });
  EXPECT_THROW(client_.call("echo", msgpack::type::ext(124, "", 0)), UsageError);
  try {
    client_.call("forged_when");
    ADD_FAILURE() << "expected a TypeError reply";
  } catch (const RemoteError& e) {
    EXPECT_EQ(e.name(), "TypeError");
    EXPECT_NE(std::string(e.message()).find("ext type 125"), std::string::npos) << e.message();
  }
  PeerOptions allow;
  allow.allow_python_ext = true;
  Client relaxed("server", allow);
  relaxed.connect(server_.bind("tcp://127.0.0.1:*"));
  EXPECT_THROW(relaxed.call("echo", msgpack::type::ext(126, "", 0)), RemoteError);  // the server refuses the echo
}

// A str that is not UTF-8 is refused the same way; bytes are not.
TEST_F(Handlers, StrThatIsNotUtf8IsRefusedByDefault) {
  const std::string binary("\xff\xfe", 2);
  server_.register_rpc("binary", [binary] { return binary; });
  server_.register_rpc("echo", [](const msgpack::object& o) { return o; });
  EXPECT_THROW(client_.call("echo", binary), UsageError);
  EXPECT_EQ(client_.call<Bytes>("echo", Bytes(binary)), Bytes(binary));
  EXPECT_THROW(client_.call("binary"), RemoteError);
  PeerOptions lax;
  lax.strict_utf8 = false;
  Server server("lax", lax);
  server.register_rpc("binary", [binary] { return binary; });
  Client client("lax", lax);
  client.connect(server.bind("tcp://127.0.0.1:*"));
  EXPECT_EQ(client.call<std::string>("binary"), binary);
}

TEST_F(Handlers, WithIdentityReceivesTheRoutingIdWithoutAuthentication) {
  Client named("server", {.routing_id = "alice"});
  named.connect(server_.bind("tcp://127.0.0.1:*"));
  server_.register_rpc("whoami", [](const std::string& identity) { return identity; }, {.with_identity = true});
  EXPECT_EQ(named.call<std::string>("whoami"), "alice");
  server_.register_rpc("caller", [](const Caller& caller, int n) { return caller.routing_id + std::to_string(n); });
  EXPECT_EQ(named.call<std::string>("caller", 1), "alice1");
}

TEST_F(Handlers, WithIdentityOnAnIncompatibleCallableIsRefusedAtRegistration) {
  EXPECT_THROW(server_.register_rpc("bad", [](int a) { return a; }, {.with_identity = true}), UsageError);
  EXPECT_THROW(server_.register_rpc("bad", [](int a, int b) { return a + b; }, {.params = {"a"}}), UsageError);
  EXPECT_THROW(server_.register_rpc("bad..name", [] {}), UsageError);
}

struct MappingCase {
  std::string function;
  std::string python_name;
  std::string message;
};

class ExceptionMapping : public Handlers, public ::testing::WithParamInterface<MappingCase> {};

TEST_P(ExceptionMapping, HandlerExceptionBecomesPythonClass) {
  server_.register_rpc("invalid_argument", [] { throw std::invalid_argument("bad value"); });
  server_.register_rpc("domain_error", [] { throw std::domain_error("outside"); });
  server_.register_rpc("out_of_range", [] { throw std::out_of_range("index 9"); });
  server_.register_rpc("overflow_error", [] { throw std::overflow_error("too big"); });
  server_.register_rpc("bad_alloc", [] { throw std::bad_alloc(); });
  server_.register_rpc("system_error", [] { throw std::system_error(std::make_error_code(std::errc::io_error), "disk"); });
  server_.register_rpc("runtime_error", [] { throw std::runtime_error("generic"); });
  server_.register_rpc("custom", [] { throw RemoteError("CustomError", "mine"); });
  server_.register_rpc("not_std", [] { throw 42; });
  try {
    client_.call<void>(GetParam().function);
    FAIL() << "expected a RemoteError";
  } catch (const RemoteError& e) {
    EXPECT_EQ(e.name(), GetParam().python_name);
    EXPECT_EQ(e.message().substr(0, GetParam().message.size()), GetParam().message);
    EXPECT_TRUE(e.traceback().empty());
  }
}

INSTANTIATE_TEST_SUITE_P(
    Mapping, ExceptionMapping,
    ::testing::Values(MappingCase{"invalid_argument", "ValueError", "bad value"},
                      MappingCase{"domain_error", "ValueError", "outside"},
                      MappingCase{"out_of_range", "IndexError", "index 9"},
                      MappingCase{"overflow_error", "OverflowError", "too big"},
                      MappingCase{"bad_alloc", "MemoryError", "std::bad_alloc"},
                      MappingCase{"system_error", "OSError", "disk"},
                      MappingCase{"runtime_error", "RuntimeError", "generic"},
                      MappingCase{"custom", "CustomError", "mine"},
                      MappingCase{"not_std", "Exception", "unknown C++ exception"}),
    [](const auto& info) { return info.param.function; });

TEST(Tracebacks, SentOnlyWhenConfigured) {
  Server server("server", {.send_tracebacks = true});
  server.register_rpc("fail", [] { throw std::invalid_argument("oops"); });
  Client client("server");
  client.connect(server.bind("tcp://127.0.0.1:*"));
  try {
    client.call<void>("fail");
    FAIL() << "expected ValueError";
  } catch (const RemoteError& e) {
    EXPECT_EQ(e.name(), "ValueError");
    EXPECT_NE(e.traceback().find("std::invalid_argument"), std::string::npos) << e.traceback();
  }
}

}  // namespace
}  // namespace pseud::test

namespace pseud::test {
namespace {

TEST(Predicates, HookFeedsDomainsAndRefusedCallsNeverRunTheHandler) {
  PeerOptions options;
  options.predicate_arguments = [](const Caller& caller) {
    PredicateArgs args;
    args.user_id = caller.identity();
    if (caller.routing_id == "root") args.permissions.push_back("admin");
    return args;
  };
  Server server("server", options);
  std::atomic<int> admin_runs{0};
  server.register_rpc("power", [] { return std::string("small power"); });
  server.register_rpc("power", [] { return std::string("great power"); }, {.domain = "restricted"});
  server.register_rpc("admin.only", [&admin_runs] { return ++admin_runs; }, {.domain = "restricted"});
  server.registry().set_predicate("restricted", [](const PredicateArgs& a) { return a.has_permission("admin"); });
  const std::string endpoint = server.bind("tcp://127.0.0.1:*");

  Client root("server", {.routing_id = "root"});
  Client guest("server", {.routing_id = "guest"});
  root.connect(endpoint);
  guest.connect(endpoint);
  EXPECT_EQ(root.call<std::string>("power"), "great power");
  EXPECT_EQ(guest.call<std::string>("power"), "small power");
  EXPECT_EQ(root.call<int>("admin.only"), 1);
  EXPECT_THROW(guest.call<int>("admin.only"), ServiceNotFoundError);
  EXPECT_EQ(admin_runs.load(), 1);
}

TEST(Predicates, ThrowingHookRefusesTheCall) {
  PeerOptions options;
  options.predicate_arguments = [](const Caller&) -> PredicateArgs { throw std::runtime_error("backend down"); };
  Server server("server", options);
  std::atomic<int> runs{0};
  server.register_rpc("f", [&runs] { return ++runs; });
  Client client("server");
  client.connect(server.bind("tcp://127.0.0.1:*"));
  EXPECT_THROW(client.call<int>("f"), ServiceNotFoundError);
  EXPECT_EQ(runs.load(), 0);
}

TEST(Unauthorized, AnUnauthorizedReplyFailsTheCallWithItsText) {
  auto context = std::make_shared<zmq::context_t>();
  RawSocket fake(*context, zmq::socket_type::router, "server");
  fake.socket().bind("inproc://unauthorized");
  Client client("server", {.context = context});
  client.connect("inproc://unauthorized");
  auto future = client.async_call<int>("add", 1, 2);
  std::optional<Frames> work;
  do {
    work = fake.receive();
  } while (work && work->size() == 2);  // skip the probe
  ASSERT_TRUE(work.has_value());
  ASSERT_EQ(work->size(), 6u);
  fake.send({(*work)[0], "", "v1", (*work)[3], "\x11", "Authentication Required"});
  try {
    get_within(future);
    FAIL() << "expected UnauthorizedError";
  } catch (const UnauthorizedError& e) {
    EXPECT_EQ(e.message(), "Authentication Required");
  }
}

}  // namespace
}  // namespace pseud::test
