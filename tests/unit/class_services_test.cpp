// Class-based services: member functions with their object, std::bind_front,
// callables with a readable signature, and several methods registered at
// once under a prefix. (What must not compile is checked by the
// has_signature_v assertions below: a static_assert refuses it.)

#include <functional>
#include <string>

#include <gtest/gtest.h>

#include "pseud/pseud.hpp"
#include "test_support.hpp"

namespace pseud::test {
namespace {

class Calculator {
 public:
  int add(int a, int b) { return a + b + offset_; }
  int mul(int a, int b) const { return a * b; }
  std::string describe(const std::string& who) const noexcept { return who + " uses a calculator"; }
  void bump(int by) { offset_ += by; }
  int offset() const { return offset_; }

 private:
  int offset_ = 0;
};

int subtract(int a, int b) { return a - b; }

struct Functor {
  int operator()(int a) const { return a * 10; }
};

// What pseud can and cannot read the parameters of.
static_assert(detail::has_signature_v<decltype(&subtract)>);
static_assert(detail::has_signature_v<Functor>);
static_assert(detail::has_signature_v<decltype([](int, double) { return 0; })>);
static_assert(detail::has_signature_v<decltype(std::bind_front(&Calculator::add, std::declval<Calculator*>()))>);
static_assert(detail::has_signature_v<decltype(std::bind_front(&subtract, 1))>);
static_assert(!detail::has_signature_v<decltype([](auto x) { return x; })>, "a generic lambda is refused");
static_assert(!detail::has_signature_v<int>);
static_assert(std::is_same_v<detail::callable_traits<decltype(std::bind_front(&subtract, 1))>::arguments, std::tuple<int>>);

struct Service {
  Server server{"server"};
  Client client{"server"};
  Calculator calculator;
  void start() { client.connect(server.bind("tcp://127.0.0.1:*")); }
};

TEST(ClassServices, MemberFunctionsWithTheirObject) {
  Service s;
  s.server.register_rpc("add", &Calculator::add, &s.calculator);
  s.server.register_rpc("mul", &Calculator::mul, &s.calculator, {.doc = "a * b"});
  s.server.register_rpc("describe", &Calculator::describe, &s.calculator);
  s.server.register_rpc("bump", &Calculator::bump, &s.calculator, {.params = {"by"}});
  s.start();
  EXPECT_EQ(s.client.call<int>("add", 2, 3), 5);
  EXPECT_EQ(s.client.call<int>("mul", 4, 5), 20);
  EXPECT_EQ(s.client.call<std::string>("describe", "ann"), "ann uses a calculator");
  s.client.call("bump", kw("by", 10));
  EXPECT_EQ(s.calculator.offset(), 10);
  EXPECT_EQ(s.client.call<int>("add", 2, 3), 15) << "the call reached the very object registered";
}

TEST(ClassServices, BindFrontAndFunctors) {
  Service s;
  s.server.register_rpc("add", std::bind_front(&Calculator::add, &s.calculator));
  s.server.register_rpc("add_to_one", std::bind_front(&Calculator::add, &s.calculator, 1));
  s.server.register_rpc("from_hundred", std::bind_front(&subtract, 100));
  s.server.register_rpc("times_ten", Functor{});
  s.start();
  EXPECT_EQ(s.client.call<int>("add", 2, 3), 5);
  EXPECT_EQ(s.client.call<int>("add_to_one", 41), 42);
  EXPECT_EQ(s.client.call<int>("from_hundred", 1), 99);
  EXPECT_EQ(s.client.call<int>("times_ten", 4), 40);
  try {
    s.client.call("add_to_one", 1, 2);
    FAIL() << "expected TypeError";
  } catch (const RemoteError& e) {
    EXPECT_EQ(e.name(), "TypeError") << "the bound argument is not the caller's to give";
  }
}

TEST(ClassServices, SeveralMethodsAtOnceUnderAPrefix) {
  Service s;
  s.server.register_service("calc", s.calculator, method("add", &Calculator::add, {.params = {"a", "b"}}),
                            method("mul", &Calculator::mul, {.doc = "a * b"}),
                            method("describe", &Calculator::describe));
  s.server.register_service("", s.calculator, method("plain_add", &Calculator::add));
  s.start();
  EXPECT_EQ(s.client.call<int>("calc.add", kw("b", 2, "a", 1)), 3);
  EXPECT_EQ(s.client.call<int>("calc.mul", 6, 7), 42);
  EXPECT_EQ(s.client.call<std::string>("calc.describe", "bo"), "bo uses a calculator");
  EXPECT_EQ(s.client.call<int>("plain_add", 1, 1), 2);
  EXPECT_THROW(s.client.call("add", 1, 1), ServiceNotFoundError);
  bool documented = false;
  for (const auto& route : s.server.registry().visible_routes({})) {
    if (route->name == "calc.mul") documented = route->doc == "a * b";
  }
  EXPECT_TRUE(documented);
}

TEST(ClassServices, ANullObjectIsRefusedAtRegistration) {
  Registry registry;
  Calculator* nobody = nullptr;
  EXPECT_THROW(registry.register_rpc("add", &Calculator::add, nobody), UsageError);
}

}  // namespace
}  // namespace pseud::test
