// An example authentication plugin, built as a shared module and loaded at
// run time with pseud::load_plugin("path/to/pseud_allow_list.so").
//
// Backend "routing_id_allow_list": a server answers only clients whose
// routing id is listed (settings allow=ID, repeatable); anyone else gets
// UNAUTHORIZED "Authentication Required". It shows the plugin interface, not
// a way to secure anything: routing ids are chosen by clients, so it opts in
// to routing-id takeover (a routing id is all it knows of anyone).

#include <set>
#include <string>

#include <pseud/backends.hpp>

namespace {

class AllowListServer final : public pseud::ServerAuth {
 public:
  explicit AllowListServer(const pseud::Settings& settings) {
    for (const auto& id : settings.all("allow")) allowed_.insert(id);
    if (allowed_.empty()) throw pseud::UsageError("routing_id_allow_list: no routing id allowed (setting allow=ID)");
  }
  void configure(pseud::AuthHost&) override {}
  bool is_authenticated(const pseud::Connection& from) override {
    return allowed_.count(std::string(from.routing_id)) > 0;
  }
  pseud::PredicateArgs predicate_arguments(const pseud::Caller& caller) override {
    pseud::PredicateArgs args;
    args.user_id = caller.routing_id;
    args.permissions.push_back("listed");
    return args;
  }

 private:
  std::set<std::string, std::less<>> allowed_;
};

// The client side has nothing to prove.
class AllowListClient final : public pseud::ClientAuth {
 public:
  void configure(pseud::AuthHost&) override {}
};

}  // namespace

PSEUD_PLUGIN {
  pseud::register_auth_backend(
      "routing_id_allow_list",
      {.server = [](const pseud::Settings& settings) { return std::make_unique<AllowListServer>(settings); },
       .client = [](const pseud::Settings&) { return std::make_unique<AllowListClient>(); },
       .settings = {.server = {"allow"}},
       .allows_routing_id_takeover = true});
}
