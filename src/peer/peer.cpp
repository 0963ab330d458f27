// Layer 5 (peer): the public Peer, Server and Client over the engine.

#include "pseud/peer.hpp"

#include "engine/engine.hpp"
#include "peer/health_table.hpp"
#include "peer/introspection.hpp"
#include "peer/process_context.hpp"
#include "peer/stop_sequence.hpp"
#include "pseud/backends.hpp"

namespace pseud {

namespace {

void check_routing_id(std::string_view id, std::string_view what) {
  if (id.size() > 255) throw UsageError(std::string(what) + " must be at most 255 bytes");
  // libzmq reserves ids that start with a zero byte for the ones it generates.
  if (!id.empty() && id.front() == '\0') throw UsageError(std::string(what) + " must not start with a zero byte");
}

std::string require_name(std::string name, const char* why) {
  if (name.empty()) throw UsageError(why);
  return name;
}

PeerOptions with_context(PeerOptions options) {
  if (!options.context) options.context = detail::process_context();
  return options;
}

}  // namespace

Peer::Peer(PeerRole role, std::string routing_id, std::string server_name, const PeerOptions& options)
    : routing_id_(std::move(routing_id)), registry_(options.parent_registry) {
  check_routing_id(routing_id_, role == PeerRole::server ? "a server's name" : "a client's routing id");
  check_routing_id(server_name, "a server's name");
  // The backends come from the registry of plugins (a layer above the
  // engine), which throws UsageError for an unknown name or bad settings.
  auto auth = make_auth_backend(options.auth, role);
  auto heartbeat = make_heartbeat_backend(options.heartbeat, role);
  engine_ = std::make_unique<detail::Engine>(role, routing_id_, std::move(server_name), with_context(options),
                                             registry_, std::move(auth), std::move(heartbeat));
  register_introspection();
  register_health();
  register_metrics(options);
  stop_sequence_ = std::make_unique<detail::StopSequence>();
}

void Peer::register_introspection() {
  registry_.register_rpc(
      std::string(introspection_function),
      [this](const Caller& caller) {
        return detail::introspection_listing(registry_.visible_routes(caller.predicate_args));
      },
      {.doc = "Lists the functions this caller may call, with their docs and parameters."});
}

Peer::~Peer() = default;

std::string Peer::bind(const std::string& endpoint) { return engine_->bind(endpoint); }

void Peer::connect(const std::string& endpoint) { engine_->connect(endpoint); }

void Peer::stop() { engine_->stop(); }

bool Peer::stopped() const noexcept { return engine_->stopped(); }

PeerStats Peer::stats() const { return engine_->stats(); }

std::vector<PeerInfo> Peer::connected_peers() const { return engine_->connected_peers(); }

bool Peer::on_engine_thread() const noexcept { return engine_->on_engine_thread(); }

void Peer::submit(detail::OutgoingCall call) { engine_->submit(std::move(call)); }

bool Peer::notify(detail::OutgoingCall call) { return engine_->notify(std::move(call)); }

namespace {

void refuse_on_engine_thread(const Peer& peer, std::string_view what) {
  if (peer.on_engine_thread()) {
    throw UsageError(std::string(what) + "() was called on the peer's engine thread, where the notifications it "
                     "waits for are sent: call it from another thread");
  }
}

}  // namespace

bool Peer::wait_notifications_sent(std::chrono::milliseconds limit) {
  refuse_on_engine_thread(*this, "wait_notifications_sent");
  return engine_->wait_for_notifications(std::chrono::steady_clock::now() + limit, false);
}

bool Peer::wait_notifications_delivered(std::chrono::milliseconds limit) {
  refuse_on_engine_thread(*this, "wait_notifications_delivered");
  return engine_->wait_for_notifications(std::chrono::steady_clock::now() + limit, true);
}

namespace {

std::string instance_routing_id(const std::string& name, const std::string& instance) {
  if (instance.empty()) return name;
  if (instance.find_first_of("@/") != std::string::npos) {
    throw UsageError("instance id '" + instance + "' must not hold '@' or '/' (it becomes part of the routing id '" +
                     name + "@<instance>' and of discovery keys)");
  }
  return name + "@" + instance;
}

}  // namespace

Server::Server(std::string name, PeerOptions options)
    : Server(require_name(std::move(name), "a Server needs a non-empty name"), options.instance, options) {}

Server::Server(std::string name, std::string instance, PeerOptions options)
    : Peer(PeerRole::server, instance_routing_id(name, instance), std::string(), options),
      name_(std::move(name)),
      instance_(std::move(instance)) {
  if (!instance_.empty()) answer_health_as(name_);
}

namespace {

const PeerOptions& client_options(const PeerOptions& options) {
  if (!options.instance.empty()) {
    throw UsageError("PeerOptions::instance is for servers; a client presents PeerOptions::routing_id");
  }
  return options;
}

}  // namespace

Client::Client(std::string server_name, PeerOptions options)
    : Peer(PeerRole::client, client_options(options).routing_id,
           require_name(server_name, "a Client needs the name of the server it calls"), options),
      server_(*this, std::move(server_name)) {}

}  // namespace pseud
