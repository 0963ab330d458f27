// Custom authentication backends: one registered in-process, one loaded from
// a shared object (the plugin built from plugin_allow_list.cpp, whose path is
// the first argument).
//
// The in-process backend "office_hours" lets callers in only while a switch
// is on, and grants everyone the "staff" permission.

#include <atomic>
#include <iostream>

#include <pseud/pseud.hpp>

namespace {

std::atomic<bool> office_open{true};

class OfficeHours final : public pseud::ServerAuth {
 public:
  void configure(pseud::AuthHost&) override {}
  bool is_authenticated(const pseud::Connection&) override { return office_open.load(); }
  pseud::PredicateArgs predicate_arguments(const pseud::Caller& caller) override {
    pseud::PredicateArgs args;
    args.user_id = caller.routing_id;
    args.permissions = {"staff"};
    return args;
  }
};

// The client side has nothing to prove.
class Visitor final : public pseud::ClientAuth {
 public:
  void configure(pseud::AuthHost&) override {}
};

pseud::PeerOptions using_auth(std::string name, pseud::Settings settings = {}, std::string routing_id = {}) {
  pseud::PeerOptions options;
  options.auth = {std::move(name), std::move(settings)};
  options.routing_id = std::move(routing_id);
  return options;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: custom_auth PATH_TO_pseud_allow_list.so\n";
    return 3;
  }
  pseud::register_auth_backend(
      "office_hours", {.server = [](const pseud::Settings&) { return std::make_unique<OfficeHours>(); },
                       .client = [](const pseud::Settings&) { return std::make_unique<Visitor>(); }});
  {
    pseud::Server server("server", using_auth("office_hours"));
    server.register_rpc("coffee", [] { return std::string("here you go"); }, {.domain = "staff"});
    server.registry().set_predicate("staff", pseud::require_permission("staff"));
    pseud::Client client("server", using_auth("office_hours"));
    client.connect(server.bind("tcp://127.0.0.1:*"));
    std::cout << "in-process backend, office open: " << client.call<std::string>("coffee") << "\n";
    office_open = false;
    try {
      client.call<std::string>("coffee");
      return 1;
    } catch (const pseud::UnauthorizedError& e) {
      std::cout << "in-process backend, office closed: " << e.message() << "\n";
    }
  }

  pseud::load_plugin(argv[1]);
  pseud::Server server("server", using_auth("routing_id_allow_list", {{"allow", "friend"}}));
  server.register_rpc("hello", [](const std::string& who) { return "hello " + who; }, {.with_identity = true});
  const std::string endpoint = server.bind("tcp://127.0.0.1:*");
  pseud::Client friendly("server", using_auth("routing_id_allow_list", {}, "friend"));
  friendly.connect(endpoint);
  std::cout << "plugin backend, listed client: " << friendly.call<std::string>("hello") << "\n";
  pseud::Client stranger("server", using_auth("routing_id_allow_list", {}, "stranger"));
  stranger.connect(endpoint);
  try {
    stranger.call<std::string>("hello");
    return 1;
  } catch (const pseud::UnauthorizedError& e) {
    std::cout << "plugin backend, unlisted client: " << e.message() << "\n";
  }
  return 0;
}
