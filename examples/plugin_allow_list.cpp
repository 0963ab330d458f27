// An example authentication plugin, built as a shared module and loaded at
// run time with pseud::load_plugin("path/to/pseud_allow_list.so").
//
// Backend "routing_id_allow_list": a server answers only clients whose
// routing id is listed (settings allow=ID, repeatable); anyone else gets
// UNAUTHORIZED "Authentication Required". It shows the plugin interface, not
// a way to secure anything: routing ids are chosen by clients.

#include <set>
#include <string>

#include <pseud/backends.hpp>

namespace {

class AllowListServer final : public pseud::AuthBackend {
 public:
  explicit AllowListServer(const pseud::Settings& settings) {
    for (const auto& id : settings.all("allow")) allowed_.insert(id);
    if (allowed_.empty()) throw pseud::UsageError("routing_id_allow_list: no routing id allowed (setting allow=ID)");
  }
  void configure(pseud::AuthHost&) override {}
  bool is_authenticated(const pseud::Connection& from) override {
    return allowed_.count(std::string(from.routing_id)) > 0;
  }
  void handle_unauthenticated(pseud::AuthHost& host, const pseud::Connection& from, std::string_view id) override {
    host.send_unauthorized(from.routing_id, id, "Authentication Required");
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

class AllowListClient final : public pseud::AuthBackend {
 public:
  void configure(pseud::AuthHost&) override {}
  bool is_authenticated(const pseud::Connection&) override { return true; }
};

}  // namespace

PSEUD_PLUGIN {
  pseud::register_auth_backend(
      "routing_id_allow_list",
      [](pseud::PeerRole role, const pseud::Settings& settings) -> std::unique_ptr<pseud::AuthBackend> {
        if (role == pseud::PeerRole::server) return std::make_unique<AllowListServer>(settings);
        return std::make_unique<AllowListClient>();
      });
}
