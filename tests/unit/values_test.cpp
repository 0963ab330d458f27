// Values: argument binding with Python's rules, exception <-> ERROR mapping,
// and what the call packer puts on the wire.

#include <stdexcept>

#include <gtest/gtest.h>

#include "pseud/detail/outgoing_call.hpp"
#include "pseud/detail/handler.hpp"
#include "test_support.hpp"
#include "values/exception_mapping.hpp"

namespace pseud::test {
namespace {

// Unpacks a WORK body built by pack_call and binds it to `plan`.
struct Request {
  msgpack::object_handle handle;
  detail::Invocation call;
  Caller caller;
};

template <class... A>
Request request(A&&... args) {
  auto packed = detail::pack_call("dest", "f", std::forward<A>(args)...);
  Request r{msgpack::unpack(packed.body.data(), packed.body.size()), {}, {}};
  const auto& work = r.handle.get().via.array;
  r.call = detail::Invocation{{"f", work.ptr[1].via.array.ptr, work.ptr[1].via.array.size, work.ptr[2].via.map.ptr,
                               work.ptr[2].via.map.size},
                              &r.caller};
  return r;
}

std::string type_error_of(const detail::BindPlan& plan, const detail::Invocation& call) {
  detail::Bound bound;
  try {
    detail::bind_arguments(plan, call, bound);
  } catch (const RemoteError& e) {
    EXPECT_EQ(e.name(), "TypeError");
    return e.message();
  }
  return "no error";
}

TEST(PackCall, MatchesPythonPseudBytes) {
  // add(1, 2) as Python pseud packs it (PROTOCOL-NOTES §2).
  auto add = detail::pack_call("server", "add", 1, 2);
  EXPECT_EQ(hex_encode({add.body.data(), add.body.size()}), "93a361646492010280");
  // greet("bob", greeting="Hi")
  auto greet = detail::pack_call("server", "greet", "bob", kw("greeting", "Hi"));
  EXPECT_EQ(hex_encode({greet.body.data(), greet.body.size()}), "93a5677265657491a3626f6281a86772656574696e67a24869");
  // echo(b"\x00\xff"): bytes travel as bin
  auto echo = detail::pack_call("server", "echo", Bytes(std::string("\x00\xff", 2)));
  EXPECT_EQ(hex_encode({echo.body.data(), echo.body.size()}), "93a46563686f91c40200ff80");
}

TEST(PackCall, OptionsAndKeywordsAreNotPositional) {
  auto call = detail::pack_call("server", "f", 1, CallOptions{.timeout = std::chrono::milliseconds(7)},
                                kw("a", 1), 2, kw("b", 2));
  auto handle = msgpack::unpack(call.body.data(), call.body.size());
  const auto& work = handle.get().via.array;
  EXPECT_EQ(work.ptr[1].via.array.size, 2u);
  EXPECT_EQ(work.ptr[2].via.map.size, 2u);
  EXPECT_EQ(call.options.timeout, std::chrono::milliseconds(7));
}

TEST(PackCall, FloatsAreFloat64) {
  auto call = detail::pack_call("server", "f", 1.5);
  EXPECT_EQ(hex_encode({call.body.data(), call.body.size()}), "93a16691cb3ff800000000000080");
}

TEST(Binding, PositionalKeywordAndDefault) {
  detail::BindPlan plan{3, false, false, {"a", "b", param("c", 30)}};
  auto r = request(1, kw("b", 2));
  detail::Bound bound;
  detail::bind_arguments(plan, r.call, bound);
  EXPECT_EQ(bound.slots[0]->as<int>(), 1);
  EXPECT_EQ(bound.slots[1]->as<int>(), 2);
  EXPECT_EQ(bound.slots[2]->as<int>(), 30);
}

TEST(Binding, Errors) {
  detail::BindPlan plan{2, false, false, {"a", "b"}};
  auto few = request(1);
  EXPECT_EQ(type_error_of(plan, few.call), "f() missing 1 required argument: 'b'");
  auto none = request();
  EXPECT_EQ(type_error_of(plan, none.call), "f() missing 2 required arguments: 'a', 'b'");
  auto many = request(1, 2, 3);
  EXPECT_EQ(type_error_of(plan, many.call), "f() takes 2 positional arguments but 3 were given");
  auto unknown = request(1, 2, kw("z", 1));
  EXPECT_EQ(type_error_of(plan, unknown.call), "f() got an unexpected keyword argument 'z'");
  auto twice = request(1, 2, kw("a", 1));
  EXPECT_EQ(type_error_of(plan, twice.call), "f() got multiple values for argument 'a'");
}

TEST(Binding, CollectorsTakeTheRest) {
  detail::BindPlan plan{1, true, true, {"a"}};
  auto r = request(1, 2, 3, kw("x", 1, "y", 2));
  detail::Bound bound;
  detail::bind_arguments(plan, r.call, bound);
  EXPECT_EQ(bound.extra_args.size(), 2u);
  EXPECT_EQ(bound.extra_args.get<int>(1), 3);
  EXPECT_EQ(bound.extra_kwargs.size(), 2u);
  EXPECT_EQ(bound.extra_kwargs.get<int>("y"), 2);
  EXPECT_EQ(bound.extra_kwargs.find("a"), nullptr);
}

TEST(Binding, WithoutNamesEveryKeywordIsUnexpected) {
  detail::BindPlan plan{1, false, false, {}};
  auto r = request(kw("a", 1));
  EXPECT_EQ(type_error_of(plan, r.call), "f() got an unexpected keyword argument 'a'");
  auto missing = request();
  EXPECT_EQ(type_error_of(plan, missing.call), "f() missing 1 required argument: #1");
}

TEST(ExceptionMapping, RemoteErrorKeepsItsName) {
  auto body = detail::describe_exception(std::make_exception_ptr(RemoteError("KeyError", "k")));
  EXPECT_EQ(body.name, "KeyError");
  EXPECT_EQ(body.message, "k");
}

TEST(ExceptionMapping, ErrorBodiesBecomeTypedExceptions) {
  EXPECT_THROW(std::rethrow_exception(detail::remote_exception({"ServiceNotFoundError", "f", ""})),
               ServiceNotFoundError);
  EXPECT_THROW(std::rethrow_exception(detail::remote_exception({"UnauthorizedError", "no", ""})), UnauthorizedError);
  EXPECT_THROW(std::rethrow_exception(detail::remote_exception({"UnavailableError", "stopping", ""})),
               UnavailableError);
  try {
    std::rethrow_exception(detail::remote_exception({"CustomError", "mine", "tb"}));
  } catch (const ServiceNotFoundError&) {
    FAIL() << "wrong subclass";
  } catch (const RemoteError& e) {
    EXPECT_EQ(e.name(), "CustomError");
    EXPECT_EQ(e.message(), "mine");
    EXPECT_EQ(e.traceback(), "tb");
  }
}

TEST(BytesAdaptor, PacksAsBinAndReadsBinOrStr) {
  msgpack::sbuffer out;
  msgpack::pack(out, Bytes("ab"));
  EXPECT_EQ(hex_encode({out.data(), out.size()}), "c4026162");
  auto from_str = msgpack::unpack("\xa2" "ab", 3);
  EXPECT_EQ(from_str.get().as<Bytes>().data, "ab");
  auto from_int = msgpack::unpack("\x01", 1);
  EXPECT_THROW(from_int.get().as<Bytes>(), msgpack::type_error);
}

}  // namespace
}  // namespace pseud::test

namespace pseud::test {
namespace {

TEST(PackCall, ArgsAndKwargsAreSpreadLikePythonStarArgs) {
  auto source = detail::pack_call("s", "f", 1, "two", kw("k", 3));
  auto handle = msgpack::unpack(source.body.data(), source.body.size());
  const auto& work = handle.get().via.array;
  const Args args({work.ptr[1].via.array.ptr, work.ptr[1].via.array.size});
  Kwargs kwargs;
  kwargs.add("k", work.ptr[2].via.map.ptr[0].val);
  auto forwarded = detail::pack_call("s", "g", 0, args, kwargs, kw("extra", true));
  EXPECT_EQ(hex_encode({forwarded.body.data(), forwarded.body.size()}),
            "93a167" "93" "00" "01" "a374776f" "82" "a16b03" "a5657874726" "1c3");
}

TEST(WireBuffer, WholeDoublesStayFloat64) {
  detail::WireBuffer out;
  msgpack::pack(out, 2.0);
  EXPECT_EQ(hex_encode({out.data(), out.size()}), "cb4000000000000000");
  msgpack::sbuffer plain;
  msgpack::pack(plain, 2.0);  // what msgpack-c alone does: the reason WireBuffer exists
  EXPECT_EQ(hex_encode({plain.data(), plain.size()}), "02");
}

}  // namespace
}  // namespace pseud::test
