#include "dispatch_functions.hpp"

#include <algorithm>
#include <cerrno>
#include <map>
#include <new>
#include <stdexcept>
#include <string>
#include <system_error>
#include <tuple>
#include <typeinfo>
#include <vector>

#include "pseud/predicates.hpp"

namespace pseud::fuzz {

namespace {

struct Point {
  std::int64_t x = 0;
  std::int64_t y = 0;
  MSGPACK_DEFINE_MAP(x, y)
};

std::int64_t checked_add(std::int64_t a, std::int64_t b) {
  std::int64_t sum = 0;
  if (__builtin_add_overflow(a, b, &sum)) throw std::overflow_error("add: the sum does not fit 64 bits");
  return sum;
}

double mean(const std::vector<double>& values) {
  if (values.empty()) throw std::domain_error("mean of no values");
  double total = 0;
  for (const double v : values) total += v;
  return total / static_cast<double>(values.size());
}

[[noreturn]] void fail(const std::string& kind) {
  if (kind == "value") throw std::invalid_argument("bad value");
  if (kind == "index") throw std::out_of_range("no such index");
  if (kind == "key") throw RemoteError("KeyError", kind);
  if (kind == "custom") throw RemoteError("CustomError", "custom failure");
  if (kind == "system") throw std::system_error(EIO, std::generic_category(), "disk");
  if (kind == "alloc") throw std::bad_alloc();
  if (kind == "cast") throw std::bad_cast();
  if (kind == "logic") throw std::logic_error("logic");
  if (kind == "int") throw 42;
  throw std::runtime_error("fail: " + kind);
}

void register_parent(Registry& registry) {
  registry.register_rpc("echo", [](Args args) { return args; });
  registry.register_rpc("nothing", [] {});
  registry.register_rpc("report", [] { return std::string("public"); });
}

void register_local(Registry& registry) {
  registry.register_rpc("add", checked_add, {.params = {"a", "b"}});
  registry.register_rpc(
      "greet",
      [](const std::string& name, const std::string& greeting, const Kwargs& extra) {
        return greeting + ", " + name + "!" + (extra.empty() ? "" : " +" + std::to_string(extra.size()));
      },
      {.params = {"name", param("greeting", std::string("Hello"))}});
  registry.register_rpc("blob.reverse", [](Bytes data) {
    std::reverse(data.data.begin(), data.data.end());
    return data;
  });
  registry.register_rpc("whoami", [](const std::string& identity) { return identity; }, {.with_identity = true});
  registry.register_rpc("caller.user", [](const Caller& caller, Args rest) {
    return caller.user_id + "/" + std::to_string(rest.size());
  });
  registry.register_rpc("stats.mean", mean);
  registry.register_rpc("swap", [](Point p) { return Point{p.y, p.x}; });
  registry.register_rpc("lookup", [](const std::map<std::string, std::int64_t>& table, const std::string& key) {
    return table.at(key);
  });
  registry.register_rpc("mixed", [](bool flag, float ratio, std::uint8_t small, std::int16_t medium) {
    return std::tuple<bool, double, int>{!flag, static_cast<double>(ratio), small + medium};
  });
  registry.register_rpc("fail", fail);

  registry.register_rpc("report", [] { return std::string("private"); }, {.domain = "admin"});
  registry.register_rpc("admin.only", [] { return std::string("secret"); }, {.domain = "admin"});
  registry.set_predicate("admin", require_permission("admin"));
  registry.register_rpc("nobody.hidden", [] { return std::string("hidden"); }, {.domain = "nobody"});
  registry.register_rpc("flaky.call", [] { return std::string("flaky"); }, {.domain = "flaky"});
  registry.set_predicate("flaky", [](const PredicateArgs& args) {
    if (args.user_id == "alice") throw std::runtime_error("predicate failed");
    return true;
  });
}

}  // namespace

const Registry& dispatch_registry() {
  static Registry parent;
  static Registry local(&parent);
  static const bool ready = [] {
    register_parent(parent);
    register_local(local);
    return true;
  }();
  (void)ready;
  return local;
}

}  // namespace pseud::fuzz
