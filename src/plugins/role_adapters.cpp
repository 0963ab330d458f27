// Layer 6 (plugins): role interfaces adapted to the engine's AuthBackend.

#include "plugins/role_adapters.hpp"

namespace pseud::detail {

namespace {

// pseud's own answer to a caller that has not authenticated.
constexpr std::string_view authentication_required = "Authentication Required";

class ServerAdapter final : public AuthBackend {
 public:
  ServerAdapter(std::unique_ptr<ServerAuth> server, bool takeover) : server_(std::move(server)), takeover_(takeover) {}

  void configure(AuthHost& host) override { server_->configure(host); }
  void stop() override { server_->stop(); }
  bool allows_routing_id_takeover() const noexcept override { return takeover_; }
  bool is_authenticated(const Connection& from) override { return server_->is_authenticated(from); }
  // A role interface has no in-band login: a HELLO is refused as any other
  // message from a connection that has not authenticated. One answer per
  // message received, nothing kept.
  void handle_hello(AuthHost& host, const Connection& from, std::string_view id, std::string_view) override {
    host.send_unauthorized(from.routing_id, id, authentication_required);
  }
  void handle_unauthenticated(AuthHost& host, const Connection& from, std::string_view id) override {
    host.send_unauthorized(from.routing_id, id, authentication_required);
  }
  PredicateArgs predicate_arguments(const Caller& caller) override { return server_->predicate_arguments(caller); }

 private:
  std::unique_ptr<ServerAuth> server_;
  bool takeover_;
};

class ClientAdapter final : public AuthBackend {
 public:
  explicit ClientAdapter(std::unique_ptr<ClientAuth> client) : client_(std::move(client)) {}

  void configure(AuthHost& host) override { client_->configure(host); }
  void stop() override { client_->stop(); }
  // A client's peers are the servers it connected to, which it chose.
  bool is_authenticated(const Connection&) override { return true; }

 private:
  std::unique_ptr<ClientAuth> client_;
};

}  // namespace

std::unique_ptr<AuthBackend> adapt_server_auth(std::unique_ptr<ServerAuth> server, bool allows_routing_id_takeover) {
  return std::make_unique<ServerAdapter>(std::move(server), allows_routing_id_takeover);
}

std::unique_ptr<AuthBackend> adapt_client_auth(std::unique_ptr<ClientAuth> client) {
  return std::make_unique<ClientAdapter>(std::move(client));
}

}  // namespace pseud::detail
