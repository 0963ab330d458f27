// The pseud tool's signature line for a pseud.inspect entry, from entries as
// a peer may send them: ours, a Python pseud's (no parameters), and garbage.

#include <gtest/gtest.h>

#include "cli/json.hpp"
#include "cli/signature_text.hpp"

namespace pseud::test {
namespace {

std::optional<std::string> text_of(std::string_view json) { return cli::signature_text(cli::parse_json(json).get()); }

TEST(SignatureText, NamedDefaultedTypedAndCollectors) {
  EXPECT_EQ(text_of(R"({"name": "add", "params": [{"name": "a", "type": "any"}, {"name": "b", "type": "any",
                       "default": 2}], "args": false, "kwargs": false})"),
            "add(a, b=2)");
  EXPECT_EQ(text_of(R"({"name": "greet", "params": [{"name": "name", "type": "str"}, {"name": "greeting",
                       "type": "str", "default": "Hello"}], "args": true, "kwargs": true})"),
            R"(greet(name: str, greeting: str = "Hello", *args, **kwargs))");
  EXPECT_EQ(text_of(R"({"name": "f", "params": [{"type": "int"}, {"type": "bytes"}], "args": false, "kwargs": false})"),
            "f(int, bytes)");
  EXPECT_EQ(text_of(R"({"name": "g", "params": [], "args": true, "kwargs": false})"), "g(*args)");
  EXPECT_EQ(text_of(R"({"name": "h", "params": [{}]})"), "h(?)");
}

TEST(SignatureText, EntriesWithoutParametersOrMalformedGiveNone) {
  EXPECT_EQ(text_of(R"({"name": "add", "doc": "Python pseud says only this"})"), std::nullopt);
  EXPECT_EQ(text_of(R"({"name": 5, "params": []})"), std::nullopt);
  EXPECT_EQ(text_of(R"({"name": "x", "params": {"a": 1}})"), std::nullopt);
  EXPECT_EQ(text_of(R"({"name": "x", "params": [1]})"), std::nullopt);
  EXPECT_EQ(text_of(R"(["name", "params"])"), std::nullopt);
  EXPECT_EQ(text_of(R"(null)"), std::nullopt);
  // Non-boolean flags are not taken as true.
  EXPECT_EQ(text_of(R"({"name": "x", "params": [], "args": 1, "kwargs": "yes"})"), "x()");
}

TEST(SignatureText, TheToolAddsTheLineAsTheLastKey) {
  const auto entry = cli::parse_json(R"({"name": "add", "doc": "d", "params": [{"name": "a", "type": "int"}],
                                         "args": false, "kwargs": false})");
  EXPECT_EQ(cli::to_json(cli::with_signature(entry.get()).get()),
            R"({"name":"add","doc":"d","params":[{"name":"a","type":"int"}],"args":false,"kwargs":false,)"
            R"j("signature":"add(a: int)"})j");
  const auto old = cli::parse_json(R"({"name": "add", "doc": "d"})");
  EXPECT_EQ(cli::to_json(cli::with_signature(old.get()).get()), R"({"name":"add","doc":"d"})");
  const auto odd = cli::parse_json(R"([1, 2])");
  EXPECT_EQ(cli::to_json(cli::with_signature(odd.get()).get()), "[1,2]");
}

}  // namespace
}  // namespace pseud::test
